"""What every page shares: the Jinja2 environment, money and date filters, CSRF tokens and the error page."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from meshfab.domain.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from meshfab.services.platform import Platform

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def money(amount: int | None, currency: str = "") -> str:
    """Integer minor units as a price a person reads: 12345 USD → 'USD 123.45'."""
    if amount is None:
        return "–"
    return f"{currency} {amount / 100:,.2f}".strip()


def when(value: datetime | date | str | None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return value.strftime("%a %d %b %Y")
    return value.strftime(fmt)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


templates.env.filters.update(money=money, when=when, percent=percent)


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def csrf_for(secret: str) -> str:
    """A per-session token derived from the session's own secret: nothing to store, nothing to guess."""
    return hmac.new(secret.encode(), b"meshfab-csrf", hashlib.sha256).hexdigest()[:32]


def csrf_ok(expected: str, request: Request, form_token: str | None) -> bool:
    given = form_token or request.headers.get("x-csrf-token") or ""
    return bool(given) and hmac.compare_digest(given, expected)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _status(error: DomainError | str) -> int:
    for kind, code in ((NotFound, 404), (Forbidden, 403), (InvalidInput, 422), (Conflict, 409)):
        if isinstance(error, kind):
            return code
    return 400


def error_page(request: Request, error: DomainError | str, status_code: int | None = None) -> HTMLResponse:
    """A domain error as a page (or an htmx fragment): the same words the API would use, in HTML."""
    detail = error if isinstance(error, str) else error.detail
    code = status_code or _status(error)
    problems = [] if isinstance(error, str) else [p.msg for p in getattr(error, "problems", [])]
    name = "error_fragment.html" if request.headers.get("hx-request") else "error.html"
    return page(request, name, {"detail": detail, "problems": problems, "status": code}, status_code=code)
