"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from meshfab.api.deps import PlatformDep
from meshfab.store.migrate import is_current

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(platform: PlatformDep) -> JSONResponse:
    try:
        with platform.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = is_current(platform.engine)
    except SQLAlchemyError:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse({"status": "unavailable", "migrations": "behind"}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
