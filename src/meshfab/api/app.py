"""The FastAPI application: routers per resource, problem+json errors, observability."""

from __future__ import annotations

from fastapi import FastAPI

from meshfab.api import problems
from meshfab.api.observability import ObservabilityMiddleware
from meshfab.api.routers import factories, health, orders, quotes, templates
from meshfab.services.platform import Platform


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="meshfab",
        version="0.1.0",
        description="Customise, promise, route, make and ship through a mesh of small factories.",
    )
    app.state.platform = platform
    problems.install(app)
    for router in (health.router, templates.router, quotes.router, factories.router, orders.router):
        app.include_router(router)
    app.add_middleware(ObservabilityMiddleware)
    return app
