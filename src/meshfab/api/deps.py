"""Request-scoped dependencies: the platform, the calling principal, the idempotent responder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from meshfab.domain.principals import Principal
from meshfab.services import idempotency
from meshfab.services.keys import authenticate
from meshfab.services.platform import Platform


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


PlatformDep = Annotated[Platform, Depends(get_platform)]


def get_principal(
    platform: PlatformDep, authorization: Annotated[str | None, Header(max_length=512)] = None
) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    principal = authenticate(platform, token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def respond_once(
    request: Request,
    platform: Platform,
    principal: Principal,
    key: str | None,
    body: BaseModel,
    work: Callable[[], tuple[int, Any]],
) -> JSONResponse:
    """Run a creating POST; with an Idempotency-Key, at most once per caller and key."""
    if key is None:
        status, payload = work()
        return JSONResponse(payload, status_code=status)
    fingerprint = idempotency.request_hash(request.method, request.url.path, body.model_dump(mode="json"))
    (status, payload), replayed = idempotency.run_once(platform, principal, key, fingerprint, work)
    response = JSONResponse(payload, status_code=status)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
