"""The FastAPI application: routers per resource, problem+json errors, observability."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from meshfab.api import problems
from meshfab.api.observability import ObservabilityMiddleware
from meshfab.api.routers import factories, health, orders, parcels, planning, quotes, templates, webhooks, work
from meshfab.services.background import PeriodicJob
from meshfab.services.lane_learning import learn_lane_transit
from meshfab.services.platform import Platform
from meshfab.services.replanner import Replanner
from meshfab.services.scheduler import Scheduler
from meshfab.services.webhooks import relay as relay_webhooks
from meshfab.web import mount as mount_web

LEARN_EVERY_SECONDS = 3600.0  # lanes' real transit is relearnt hourly: it moves over days, not minutes


def create_app(platform: Platform, *, background: bool = False) -> FastAPI:
    """`background` starts the periodic network re-plan and scheduling cycle (as `meshfab serve` does); tests
    drive them directly."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        replanner, scheduler, relay, learner = None, None, None, None
        if background and platform.settings.replan_minutes > 0:
            replanner = Replanner(platform, every_minutes=platform.settings.replan_minutes)
            replanner.start()
        if background and platform.settings.schedule_minutes > 0:
            scheduler = Scheduler(platform, every_minutes=platform.settings.schedule_minutes)
            scheduler.start()
        if background:
            relay = PeriodicJob("outbox-relay", 2.0, lambda: relay_webhooks(platform))
            relay.start()
            learner = PeriodicJob("lane-learning", LEARN_EVERY_SECONDS, lambda: learn_lane_transit(platform))
            learner.start()
        yield
        for job in (replanner, scheduler, relay, learner):
            if job is not None:
                job.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="meshfab",
        version="0.1.0",
        description="Customise, promise, route, make and ship through a mesh of small factories.",
    )
    app.state.platform = platform
    problems.install(app)
    for router in (
        health.router,
        templates.router,
        quotes.router,
        factories.router,
        orders.router,
        planning.router,
        work.router,
        parcels.router,
        webhooks.router,
    ):
        app.include_router(router)
    mount_web(app)
    app.add_middleware(ObservabilityMiddleware)
    return app
