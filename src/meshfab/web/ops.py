"""The operator dashboard: the mesh on a map, KPI tiles, demand against capacity, live events, at-risk promises.

The event feed is server-sent events read from the transactional outbox, so it shows exactly what the
webhooks deliver; the browser resumes from the last id it saw (`Last-Event-ID`) after a reconnect.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from meshfab.domain.errors import Conflict, DomainError
from meshfab.services import dashboard, network
from meshfab.web.auth import OPS, Session, checked, login_router, session_of, to_login
from meshfab.web.common import error_page, page, platform_of

router = APIRouter(prefix="/ops", include_in_schema=False)
login = login_router(OPS)
MAP_TOP, MAP_HEIGHT = 84.0, 142.0  # the outline's projection: see scripts/make_world_svg.py
POLL_SECONDS = 1.0


def _marker(f: dict[str, Any]) -> dict[str, Any]:
    load = f["load"]
    colour = "#1a7f37" if load < 0.5 else "#9a6700" if load < 0.85 else "#cf222e"
    if f["status"] != "active":
        colour = "#57606a"
    return {**f, "x": round(f["lon"] + 180, 2), "y": round(MAP_TOP - f["lat"], 2), "colour": colour}


def event_view(e: dashboard.EventView) -> dict[str, Any]:
    """An outbox event as one readable feed line."""
    p = e.payload
    facts = [f"{k.replace('_', ' ')} {p[k]}" for k in ("factory_id", "day", "to", "quantity", "reason") if p.get(k)]
    return {
        "id": e.id,
        "type": e.type,
        "subject": e.subject,
        "at": e.occurred_at.strftime("%d %b %H:%M"),
        "text": "; ".join(facts),
    }


@router.get("")
def dashboard_page(request: Request, notice: str | None = None) -> Response:
    session = session_of(request, OPS)
    if session is None:
        return to_login(OPS)
    platform, who = platform_of(request), session.principal
    try:
        events = [event_view(e) for e in dashboard.recent_events(platform, who)]
        context = {
            "csrf": session.csrf,
            "kpis": dashboard.kpis(platform, who),
            "factories": [_marker(f) for f in dashboard.factory_loads(platform, who)],
            "series": dashboard.demand_vs_capacity(platform, who),
            "at_risk": dashboard.at_risk_promises(platform, who),
            "events": events,
            "last_event": events[0]["id"] if events else 0,
            "map_height": MAP_HEIGHT,
            "notice": notice,
        }
    except DomainError as exc:
        return error_page(request, exc)
    return page(request, "ops.html", context)


@router.get("/kpis")
def kpi_tiles(request: Request) -> Response:
    session = session_of(request, OPS)
    if session is None:
        return Response(status_code=401)
    return page(request, "ops_kpis.html", {"kpis": dashboard.kpis(platform_of(request), session.principal)})


@router.get("/at-risk")
def at_risk(request: Request) -> Response:
    session = session_of(request, OPS)
    if session is None:
        return Response(status_code=401)
    rows = dashboard.at_risk_promises(platform_of(request), session.principal)
    return page(request, "ops_at_risk.html", {"at_risk": rows, "csrf": session.csrf})


@router.get("/events")
async def events(request: Request, after: int | None = None) -> Response:
    """Server-sent events: every outbox row after the last one the browser saw, as it is written."""
    session = session_of(request, OPS)
    if session is None:
        return Response(status_code=401)
    platform, who = platform_of(request), session.principal
    header = request.headers.get("last-event-id", "")
    last = int(header) if header.isdigit() else (after or 0)

    async def stream() -> AsyncIterator[str]:
        nonlocal last
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            batch = await run_in_threadpool(dashboard.events_since, platform, who, last)
            for e in batch:
                last = e.id
                yield f"id: {e.id}\nevent: mesh\ndata: {json.dumps(event_view(e))}\n\n"
            if not batch:
                yield ": idle\n\n"
                await asyncio.sleep(POLL_SECONDS)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.post("/replan")
def replan(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    """One click: re-route every unstarted line across the mesh now, and say what it changed."""
    session = checked(request, OPS, csrf)
    if not isinstance(session, Session):
        return session
    platform = platform_of(request)
    try:
        run_id = network.replan_network(platform, trigger="operator")
        run = network.get_run(platform, session.principal, run_id)
        notice = (
            f"Re-plan {run.get('status', '')}: {len(run.get('moved', []))} line(s) moved, "
            f"{len(run.get('at_risk', []))} still at risk"
        )
    except Conflict as exc:
        notice = exc.detail
    except DomainError as exc:
        return error_page(request, exc)
    return RedirectResponse(f"/ops?notice={quote(notice)}", status_code=303)
