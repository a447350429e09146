"""Read models for the web pages: KPIs, loads, calendars, the event feed and a factory's trust record.

The pages need a few aggregate reads the use-case services do not offer (they answer one object at a time).
Everything here is read-only and checks the caller like the other services do: the operator sees the mesh, a
factory sees itself, a merchant sees its own orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, select

from meshfab.domain.errors import NotFound
from meshfab.domain.merchants import Merchant
from meshfab.domain.orders import PromiseStatus
from meshfab.domain.principals import Principal
from meshfab.domain.work import WorkOrderStatus
from meshfab.services.access import require_factory_access, require_merchant_access, require_operator
from meshfab.services.platform import Platform
from meshfab.store.tables import (
    BucketRow,
    FactoryRow,
    LaneRow,
    OrderRow,
    OutboxRow,
    ParcelRow,
    PromiseRow,
    WorkOrderRow,
)

PRIOR_WEIGHT = 20
"""Observations the stored trust score counts for: a new factory's record moves it slowly, a long one decides."""


def get_merchant(platform: Platform, merchant_id: str) -> Merchant:
    with platform.uow() as uow:
        merchant = uow.merchants.get(merchant_id)
    if merchant is None:
        raise NotFound(f"shop {merchant_id!r} not found")
    return merchant


def destination_countries(platform: Platform) -> list[str]:
    """Countries some lane delivers to: the only ones a shop can promise a date for."""
    with platform.uow() as uow:
        return list(uow.session.scalars(select(LaneRow.destination_country).distinct().order_by("destination_country")))


@dataclass(frozen=True)
class Kpis:
    orders_today: int
    promises: dict[str, int]
    kept_rate: float | None
    at_risk: int
    utilisation: float | None


def _today(platform: Platform) -> tuple[date, datetime]:
    now = platform.clock.now()
    return now.date(), datetime.combine(now.date(), time(), tzinfo=now.tzinfo)


def kpis(platform: Platform, principal: Principal, days: int = 7) -> Kpis:
    """Orders placed today (UTC), promises by status, kept share of open or settled ones, and load of a week."""
    require_operator(principal, "see the mesh")
    today, midnight = _today(platform)
    with platform.uow() as uow:
        s = uow.session
        orders = s.scalar(
            select(func.count()).where(OrderRow.created_at >= midnight, OrderRow.created_at < midnight + timedelta(1))
        )
        promises = {k: v for k, v in s.execute(select(PromiseRow.status, func.count()).group_by(PromiseRow.status))}
        load = s.execute(
            select(func.sum(BucketRow.reserved), func.sum(BucketRow.available)).where(
                BucketRow.day >= today, BucketRow.day < today + timedelta(days), BucketRow.available > 0
            )
        ).one()
    judged = sum(promises.get(s.value, 0) for s in (PromiseStatus.kept, PromiseStatus.at_risk, PromiseStatus.broken))
    kept = promises.get(PromiseStatus.kept.value, 0) + promises.get(PromiseStatus.delivered.value, 0)
    settled = judged + promises.get(PromiseStatus.delivered.value, 0)
    return Kpis(
        orders_today=int(orders or 0),
        promises={k: int(v) for k, v in promises.items()},
        kept_rate=kept / settled if settled else None,
        at_risk=int(promises.get(PromiseStatus.at_risk.value, 0)),
        utilisation=(load[0] or 0) / load[1] if load[1] else None,
    )


def demand_vs_capacity(platform: Platform, principal: Principal, days: int = 14) -> list[dict[str, Any]]:
    """Per day of the coming weeks: minutes reserved by orders against minutes the working mesh has.

    Buckets exist only where something was reserved or closed; other days take their minutes from the calendars.
    """
    require_operator(principal, "see the mesh")
    today, _ = _today(platform)
    span = [today + timedelta(i) for i in range(days)]
    with platform.uow() as uow:
        factories = [f for f in uow.factories.list() if f.accepts_work]
        buckets = {
            (b.factory_id, b.capability, b.day): (b.available, b.reserved)
            for b in uow.session.scalars(
                select(BucketRow).where(BucketRow.day >= today, BucketRow.day < today + timedelta(days))
            )
        }
    series = []
    for day in span:
        available = reserved = 0
        for f in factories:
            for capability in f.capabilities:
                a, r = buckets.get((f.id, capability, day), (f.capacity_minutes(capability, day), 0))
                available, reserved = available + a, reserved + r
        series.append({"day": day.isoformat(), "reserved": reserved, "available": available})
    return series


def factory_loads(platform: Platform, principal: Principal, days: int = 7) -> list[dict[str, Any]]:
    """Every factory with its place and its load (reserved / available minutes) over the coming days."""
    require_operator(principal, "see the mesh")
    today, _ = _today(platform)
    with platform.uow() as uow:
        s = uow.session
        load = {
            f: (int(r or 0), int(a or 0))
            for f, r, a in s.execute(
                select(BucketRow.factory_id, func.sum(BucketRow.reserved), func.sum(BucketRow.available))
                .where(BucketRow.day >= today, BucketRow.day < today + timedelta(days))
                .group_by(BucketRow.factory_id)
            )
        }
        factories = s.scalars(select(FactoryRow).order_by(FactoryRow.id)).all()
        return [
            {
                "id": f.id,
                "name": f.name,
                "region": f.region,
                "country": f.country,
                "lat": f.lat,
                "lon": f.lon,
                "status": f.status,
                "reserved": load.get(f.id, (0, 0))[0],
                "available": load.get(f.id, (0, 0))[1],
                "load": load[f.id][0] / load[f.id][1] if load.get(f.id, (0, 0))[1] else 0.0,
            }
            for f in factories
        ]


def at_risk_promises(platform: Platform, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
    require_operator(principal, "see the mesh")
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(PromiseRow)
            .where(PromiseRow.status == PromiseStatus.at_risk.value)
            .order_by(PromiseRow.delivery_by, PromiseRow.line_id)
            .limit(limit)
        ).all()
        return [
            {
                "order_id": str(p.order_id),
                "line_id": str(p.line_id),
                "factory_id": p.factory_id,
                "delivery_by": p.delivery_by,
                "reason": p.risk or "",
            }
            for p in rows
        ]


@dataclass(frozen=True)
class EventView:
    id: int
    type: str
    subject: str
    payload: dict[str, Any]
    occurred_at: datetime


def events_since(platform: Platform, principal: Principal, after: int, limit: int = 50) -> list[EventView]:
    """Outbox events with an id above `after`, oldest first: the operator's live feed resumes from its last id."""
    require_operator(principal, "follow the event feed")
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(OutboxRow).where(OutboxRow.id > after).order_by(OutboxRow.id).limit(limit)
        ).all()
        return [EventView(r.id, r.type, r.subject, dict(r.payload), r.occurred_at) for r in rows]


def recent_events(platform: Platform, principal: Principal, limit: int = 20) -> list[EventView]:
    """The newest events, newest first, for the feed's first paint."""
    require_operator(principal, "follow the event feed")
    with platform.uow() as uow:
        rows = uow.session.scalars(select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)).all()
        return [EventView(r.id, r.type, r.subject, dict(r.payload), r.occurred_at) for r in rows]


def factory_work(platform: Platform, principal: Principal, factory_id: str) -> list[dict[str, Any]]:
    """The factory's work orders with their scheduled operations, open ones first, then by due time."""
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id).order_by(WorkOrderRow.due_at)
        ).all()
        open_first = {WorkOrderStatus.started.value: 0, WorkOrderStatus.released.value: 1}
        return sorted(
            (
                {
                    "id": str(w.id),
                    "lot_id": w.lot_id,
                    "capability": w.capability,
                    "setup_family": w.setup_family,
                    "quantity": w.quantity,
                    "scrap": w.scrap,
                    "status": w.status,
                    "due_at": w.due_at,
                    "started_at": w.started_at,
                    "finished_at": w.finished_at,
                    "operations": list(w.operations or []),
                    "lines": len(w.line_ids),
                }
                for w in rows
            ),
            key=lambda w: (open_first.get(w["status"], 2), w["due_at"]),
        )


def capacity_calendar(platform: Platform, principal: Principal, factory_id: str, first: date, days: int = 14) -> dict:
    """Per capability and local day: minutes available and reserved; closed days have no minutes left."""
    require_factory_access(principal, factory_id)
    last = first + timedelta(days)
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(BucketRow).where(BucketRow.factory_id == factory_id, BucketRow.day >= first, BucketRow.day < last)
        ).all()
        cells = {(b.capability, b.day): (b.available, b.reserved) for b in rows}
    return {"days": [first + timedelta(i) for i in range(days)], "cells": cells}


@dataclass(frozen=True)
class Trust:
    stored: float
    score: float
    observations: int
    promises_kept: int
    promises_judged: int
    finished: int
    finished_on_time: int
    units: int
    scrapped: int
    observed: float | None


def trust_record(platform: Platform, principal: Principal, factory_id: str) -> Trust:
    """The factory's trust score recomputed from its record, blended with its stored score as a prior.

    observed = 0.5 × share of its promises kept + 0.3 × share of lots finished by their due time
             + 0.2 × (1 − share of units scrapped); score = (stored × 20 + observed × n) / (20 + n),
    with n the judged promises and finished lots, so a few bad days cannot sink a long good record.
    """
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        s = uow.session
        factory = s.get(FactoryRow, factory_id)
        if factory is None:
            raise NotFound(f"factory {factory_id!r} not found")
        promises = {
            k: v
            for k, v in s.execute(
                select(PromiseRow.status, func.count()).where(PromiseRow.factory_id == factory_id).group_by("status")
            )
        }
        stored = factory.trust_score
        work = s.execute(
            select(WorkOrderRow.finished_at, WorkOrderRow.due_at, WorkOrderRow.quantity, WorkOrderRow.scrap).where(
                WorkOrderRow.factory_id == factory_id
            )
        ).all()
    kept = promises.get("kept", 0) + promises.get("delivered", 0)
    judged = kept + promises.get("at_risk", 0) + promises.get("broken", 0)
    finished = [w for w in work if w.finished_at is not None]
    on_time = sum(1 for w in finished if w.finished_at is not None and w.finished_at <= w.due_at)
    units, scrapped = sum(w.quantity for w in work), sum(w.scrap for w in work)
    parts = [(0.5, kept / judged if judged else None), (0.3, on_time / len(finished) if finished else None)]
    parts.append((0.2, 1 - scrapped / units if units else None))
    known = [(w, v) for w, v in parts if v is not None]
    observed = sum(w * v for w, v in known) / sum(w for w, _ in known) if known else None
    n = judged + len(finished)
    score = stored if observed is None else (stored * PRIOR_WEIGHT + observed * n) / (PRIOR_WEIGHT + n)
    return Trust(stored, score, n, kept, judged, len(finished), on_time, units, scrapped, observed)


def order_parcels(platform: Platform, principal: Principal, order_id: UUID) -> list[dict[str, Any]]:
    """The parcels of an order with their tracking events, for the buyer's order page."""
    with platform.uow() as uow:
        order = uow.session.get(OrderRow, order_id)
        if order is None:
            raise NotFound(f"order {order_id} not found")
        require_merchant_access(principal, order.merchant_id, f"order {order_id}")
        columns = ParcelRow.__table__.c
        wanted = [columns.id, columns.status, columns.tracking_number]
        tracking = columns.get("tracking")  # carrier scans, where the shipping service records them
        rows = uow.session.execute(
            select(*wanted, *([tracking] if tracking is not None else [])).where(columns.order_id == order_id)
        ).all()
        return [
            {
                "id": str(r[0]),
                "status": r[1],
                "tracking_number": r[2],
                "events": _scans(r[3] if len(r) > 3 else None),
            }
            for r in rows
        ]


def _scans(tracking: Any) -> list[dict[str, Any]]:
    """Tracking scans as (status, at, where) dicts, whatever shape the shipping record keeps them in."""
    events = tracking.get("events", []) if isinstance(tracking, dict) else tracking or []
    return [e if isinstance(e, dict) else {"status": str(e)} for e in events]


def list_merchants(platform: Platform) -> list[Merchant]:
    """The shops on this platform, for the front page's links (names only are public)."""
    with platform.uow() as uow:
        return uow.merchants.list()
