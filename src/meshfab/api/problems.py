"""RFC 9457 problem details for every error, with the JSON path of every bad field."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from meshfab.domain.errors import Conflict, DomainError, Forbidden, IllegalTransition, InvalidInput, NotFound

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://meshfab.dev/problems/"

STATUS: list[tuple[type[DomainError], int, str]] = [
    (NotFound, 404, "Not found"),
    (Forbidden, 403, "Forbidden"),
    (IllegalTransition, 409, "Illegal state transition"),
    (Conflict, 409, "Conflict"),
    (InvalidInput, 422, "Invalid input"),
]


def pointer(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """A JSON pointer (RFC 6901) to the offending field, e.g. /body/lines/0/quantity."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in loc)


def problem(status: int, title: str, detail: str, kind: str, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + kind, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    for cls, status, title in STATUS:
        if isinstance(exc, cls):
            extra: dict[str, Any] = {"instance": request.url.path}
            if isinstance(exc, InvalidInput):
                extra["errors"] = [{"pointer": pointer(p.loc), "detail": p.msg} for p in exc.problems]
            extra.update(getattr(exc, "extensions", {}))
            return problem(status, title, exc.detail, exc.kind, **extra)
    return problem(400, "Bad request", exc.detail, exc.kind, instance=request.url.path)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"pointer": pointer(e["loc"]), "detail": e["msg"], "code": e["type"]} for e in exc.errors()]
    summary = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5])
    return problem(422, "Invalid input", summary, "invalid-input", errors=errors, instance=request.url.path)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = {401: "unauthenticated", 404: "not-found", 405: "method-not-allowed", 413: "too-large"}
    response = problem(
        exc.status_code,
        str(exc.detail),
        str(exc.detail),
        kind.get(exc.status_code, "http-error"),
        instance=request.url.path,
    )
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s", request.url.path, exc_info=(type(exc), exc, exc.__traceback__))
    return problem(500, "Internal error", "the server failed; nothing was changed", "internal")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
