"""Server-rendered pages: the storefront (`/shop/{merchant}`), the factory portal (`/factory`) and the operator
dashboard (`/ops`), with their static assets served from this package (no CDN: the pages work offline)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from meshfab.services import dashboard
from meshfab.web import factory, ops, shop
from meshfab.web.common import HERE, page, platform_of


def mount(app: FastAPI) -> None:
    """Add the pages and `/static` to an API app (called once from `create_app`)."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for router in (shop.router, factory.login, factory.router, ops.login, ops.router):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return page(request, "home.html", {"merchants": dashboard.list_merchants(platform_of(request))})
