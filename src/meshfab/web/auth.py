"""Cookie login for the factory portal and the operator dashboard.

The API key is posted once to a form and kept in an HttpOnly, SameSite=Strict cookie scoped to its area's
path (Secure over https), so page scripts never see it and other sites cannot send it. Every POST also carries
a per-session CSRF token derived from the key, checked before anything changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from meshfab.domain.principals import Principal, Role
from meshfab.services.keys import authenticate
from meshfab.web.common import csrf_for, csrf_ok, page, platform_of, secure

COOKIE_DAYS = 7


@dataclass(frozen=True)
class Area:
    name: str
    title: str
    path: str
    cookie: str
    role: Role
    hint: str


FACTORY = Area(
    "factory", "Factory portal", "/factory", "mf_factory", Role.factory, "meshfab keys create --role factory:<id>"
)
OPS = Area("ops", "Operator dashboard", "/ops", "mf_ops", Role.operator, "meshfab keys create --role operator")


@dataclass(frozen=True)
class Session:
    principal: Principal
    csrf: str


def session_of(request: Request, area: Area) -> Session | None:
    key = request.cookies.get(area.cookie)
    if not key or len(key) > 200:
        return None
    principal = authenticate(platform_of(request), key)
    if principal is None or principal.role is not area.role:
        return None
    return Session(principal, csrf_for(key))


def to_login(area: Area) -> RedirectResponse:
    return RedirectResponse(f"{area.path}/login", status_code=303)


def checked(request: Request, area: Area, token: str | None) -> Session | Response:
    """The session behind a POST, or the response refusing it (login again, or a forged form)."""
    session = session_of(request, area)
    if session is None:
        return to_login(area)
    if not csrf_ok(session.csrf, request, token):
        return HTMLResponse("<p role='alert'>This form has expired; reload the page.</p>", status_code=403)
    return session


def login_router(area: Area) -> APIRouter:
    router = APIRouter(prefix=area.path, include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request) -> Response:
        return page(request, "login.html", {"area": area, "error": None})

    @router.post("/login")
    def login(request: Request, key: Annotated[str, Form(max_length=200)] = "") -> Response:
        principal = authenticate(platform_of(request), key.strip())
        if principal is None or principal.role is not area.role:
            error = f"That is not a valid {area.role.value} key."
            return page(request, "login.html", {"area": area, "error": error}, status_code=401)
        response = RedirectResponse(area.path, status_code=303)
        response.set_cookie(
            area.cookie,
            key.strip(),
            max_age=COOKIE_DAYS * 86400,
            path=area.path,
            httponly=True,
            samesite="strict",
            secure=secure(request),
        )
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
        outcome = checked(request, area, csrf)
        if isinstance(outcome, Response):
            return outcome
        response = to_login(area)
        response.delete_cookie(area.cookie, path=area.path, httponly=True, samesite="strict", secure=secure(request))
        return response

    return router
