"""The factory portal: today's and tomorrow's lots per machine, start / finish / scrap, the capacity calendar.

A family factory runs this on a phone at the machine, so every action is one big button, each a plain form
that htmx upgrades to an in-place swap (and that still works as a normal POST without scripts).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from meshfab.domain.errors import Conflict, DomainError
from meshfab.domain.factories import Factory
from meshfab.domain.work import Progress
from meshfab.services import dashboard, factories, network, scheduling
from meshfab.web.auth import FACTORY, Session, checked, login_router, session_of, to_login
from meshfab.web.common import error_page, page, platform_of

router = APIRouter(prefix="/factory", include_in_schema=False)
login = login_router(FACTORY)
OPEN = ("released", "started", "replacement")


def lot_name(family: str, fallback: str = "") -> str:
    """A setup family ('cut:fabric=polyester+sew:fabric=polyester,colour=white') as words a person reads."""
    values = dict.fromkeys(re.findall(r"=([^,+|]+)", family))
    return " · ".join(v.replace("_", " ") for v in values) or fallback or family


def _bars(factory: Factory, schedule: dict[str, Any], work: list[dict[str, Any]], day: date) -> dict[str, Any]:
    """One day of the schedule as positioned bars per machine, inside the day's working window."""
    tz = factory.tz
    windows = factory.working_windows(day)
    start = min(w[0] for w in windows).astimezone(tz) if windows else datetime.combine(day, time(8), tz)
    end = max(w[1] for w in windows).astimezone(tz) if windows else start + timedelta(hours=10)
    status = {w["lot_id"]: w["status"] for w in work}
    names = {w["lot_id"]: w["name"] for w in work}
    rows = []
    for machine, ops in sorted(schedule.get("workcenters", {}).items()):
        bars = []
        for op in ops:
            at = datetime.fromisoformat(op["at"]).astimezone(tz)
            until = datetime.fromisoformat(op["until"]).astimezone(tz)
            if until <= start or at >= end:
                continue
            a, b = max(at, start), min(until, end)
            span = (end - start).total_seconds()
            bars.append(
                {
                    "left": round((a - start).total_seconds() / span * 100, 2),
                    "width": max(0.8, round((b - a).total_seconds() / span * 100, 2)),
                    "label": f"{op['workcenter_id']}: {names.get(op.get('lot_id', ''), '')}",
                    "lot": op.get("lot_id", ""),
                    "hue": sum(map(ord, op.get("lot_id", ""))) % 360,
                    "status": status.get(op.get("lot_id", ""), "planned"),
                    "setup": op.get("setup", 0),
                    "at": at,
                    "until": until,
                }
            )
        rows.append({"machine": machine, "bars": bars})
    hours = [start + timedelta(hours=h) for h in range(int((end - start).total_seconds() // 3600) + 1)]
    span = (end - start).total_seconds()
    ticks = [{"label": h.strftime("%H"), "left": round((h - start).total_seconds() / span * 100, 2)} for h in hours]
    return {"day": day, "rows": rows, "ticks": ticks, "busy": any(r["bars"] for r in rows)}


def _context(request: Request, session: Session, notice: str | None) -> dict[str, Any]:
    platform = platform_of(request)
    factory_id = str(session.principal.subject)
    factory = factories.get_factory(platform, session.principal, factory_id)
    schedule = scheduling.get_schedule(platform, session.principal, factory_id)
    work = [_local(factory, w) for w in dashboard.factory_work(platform, session.principal, factory_id)]
    today = factory.local_day(platform.clock.now())
    calendar = dashboard.capacity_calendar(platform, session.principal, factory_id, today)
    for capability in {w.capability for w in factory.workcenters}:
        for day in calendar["days"]:  # days nobody reserved on yet have no bucket: show the calendar's minutes
            calendar["cells"].setdefault((capability, day), (factory.capacity_minutes(capability, day), 0))
    return {
        "factory": factory,
        "session": session,
        "csrf": session.csrf,
        "schedule": schedule,
        "days": [_bars(factory, schedule, work, today + timedelta(d)) for d in (0, 1)],
        "work": [w for w in work if w["status"] in OPEN] + [w for w in work if w["status"] not in OPEN][:10],
        "calendar": calendar,
        "capabilities": sorted({w.capability for w in factory.workcenters}),
        "holidays": set(factory.calendar.holidays),
        "today": today,
        "trust": dashboard.trust_record(platform, session.principal, factory_id),
        "notice": notice,
    }


def _local(factory: Factory, w: dict[str, Any]) -> dict[str, Any]:
    """A work order as the floor reads it: a short name and the due time on the factory's own clock."""
    return {**w, "name": lot_name(w["setup_family"], w["capability"]), "due_at": w["due_at"].astimezone(factory.tz)}


@router.get("")
def portal(request: Request, notice: str | None = None) -> Response:
    session = session_of(request, FACTORY)
    if session is None:
        return to_login(FACTORY)
    try:
        return page(request, "factory.html", _context(request, session, notice))
    except DomainError as exc:
        return error_page(request, exc)


@router.post("/work-orders/{work_order_id}/{event}")
def progress(
    request: Request,
    work_order_id: UUID,
    event: Progress,
    csrf: Annotated[str | None, Form()] = None,
    quantity: Annotated[int | None, Form(ge=1, le=1_000_000)] = None,
) -> Response:
    session = checked(request, FACTORY, csrf)
    if not isinstance(session, Session):
        return session
    platform = platform_of(request)
    try:
        scheduling.report_progress(platform, session.principal, work_order_id, event, quantity)
        work = dashboard.factory_work(platform, session.principal, str(session.principal.subject))
    except DomainError as exc:
        return error_page(request, exc)
    if not request.headers.get("hx-request"):
        return RedirectResponse("/factory", status_code=303)
    factory = factories.get_factory(platform, session.principal, str(session.principal.subject))
    card = _local(factory, next(w for w in work if w["id"] == str(work_order_id)))
    return page(request, "factory_card.html", {"w": card, "csrf": session.csrf, "just": event.value})


@router.post("/schedule")
def schedule(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    session = checked(request, FACTORY, csrf)
    if not isinstance(session, Session):
        return session
    try:
        result = scheduling.schedule_factory(platform_of(request), str(session.principal.subject))
    except DomainError as exc:
        return error_page(request, exc)
    notice = f"Scheduled: {result['status']}"
    if result["waiting_lines"]:
        notice += f"; {result['waiting_lines']} later line(s) wait for a later schedule"
    return RedirectResponse(f"/factory?notice={quote(notice)}", status_code=303)


@router.post("/close-day")
def close_day(request: Request, day: Annotated[date, Form()], csrf: Annotated[str | None, Form()] = None) -> Response:
    """Close a local day; the promises planned on it are flagged and the network re-plan runs at once."""
    session = checked(request, FACTORY, csrf)
    if not isinstance(session, Session):
        return session
    platform = platform_of(request)
    try:
        flagged = factories.close_day(platform, session.principal, str(session.principal.subject), day)
    except DomainError as exc:
        return error_page(request, exc)
    notice = f"Closed {day.isoformat()}: {flagged} promise(s) affected"
    try:
        network.replan_network(platform, trigger="day-closed")
        notice += "; the network was re-planned"
    except Conflict:
        notice += "; a network re-plan is already running and will pick it up"
    return RedirectResponse(f"/factory?notice={quote(notice)}", status_code=303)
