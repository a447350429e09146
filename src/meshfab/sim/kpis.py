"""Key figures of one run, read from the platform's own tables plus what the run recorded.

A line's promise counts as kept when it was delivered on time (the services' own verdict on delivery) and as
broken when it was delivered late or was still undelivered after its promised date when the run ended; lines
whose date had not yet come are open and left out of the rate. Only orders placed from the scenario's `start` on
are measured: the warm-up's orders load the mesh but count in no figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from meshfab.domain.orders import PromiseStatus
from meshfab.services.platform import Platform
from meshfab.sim.run import Record
from meshfab.store.tables import (
    BucketRow,
    FactoryRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    ParcelRow,
    PromiseRow,
    ReservationRow,
)


@dataclass(frozen=True)
class _Factory:
    id: str
    country: str
    region: str
    cost_per_minute: dict[str, Any]


def _rate(kept: int, total: int) -> float | None:
    return round(kept / total, 4) if total else None


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def compute(platform: Platform, record: Record, start: datetime, days: int) -> dict[str, Any]:
    end = platform.clock.now()
    with platform.uow() as uow:
        s = uow.session
        found = s.scalars(select(FactoryRow))
        factories = {f.id: _Factory(f.id, f.country, f.region, f.cost_per_minute) for f in found}
        rows = s.execute(
            select(
                PromiseRow.line_id,
                PromiseRow.order_id,
                PromiseRow.factory_id,
                PromiseRow.status,
                PromiseRow.delivery_by,
                PromiseRow.delivered_at,
                OrderRow.created_at,
                OrderRow.ship_to,
                OrderLineRow.quantity,
            )
            .join(OrderRow, OrderRow.id == PromiseRow.order_id)
            .join(OrderLineRow, OrderLineRow.id == PromiseRow.line_id)
            .where(OrderRow.created_at >= start)
        ).all()
        measured = {str(p.line_id) for p in rows}
        flagged = {}
        for payload, at in s.execute(
            select(OutboxRow.payload, OutboxRow.occurred_at).where(OutboxRow.type == "promise.at_risk")
        ):
            if payload["line_id"] in measured:
                flagged.setdefault(payload["line_id"], at)
        moves = s.execute(select(OutboxRow.payload).where(OutboxRow.type == "allocation.changed"))
        rerouted = {p["line_id"] for (p,) in moves} & measured
        cost_rows = s.execute(
            select(ReservationRow.line_id, ReservationRow.factory_id, ReservationRow.capability, ReservationRow.minutes)
        ).all()
        parcels = s.execute(select(ParcelRow.line_ids, ParcelRow.cost)).all()
        capacity = s.execute(
            select(
                BucketRow.factory_id, BucketRow.day, func.sum(BucketRow.available), func.sum(BucketRow.reserved)
            ).group_by(BucketRow.factory_id, BucketRow.day)
        ).all()
    samples: dict[str, list[bool]] = {"all": [], "domestic": [], "global": []}
    lead: list[float] = []
    kept_by_day: dict[str, list[bool]] = defaultdict(list)
    flag_hours: list[float] = []
    for promise in rows:
        created, ship_to = promise.created_at, promise.ship_to
        if promise.status == PromiseStatus.cancelled.value:
            continue
        deadline = datetime.combine(promise.delivery_by + timedelta(days=1), time(0), tzinfo=start.tzinfo)
        if promise.delivered_at is not None:
            kept = promise.status != PromiseStatus.broken.value
            lead.append((promise.delivered_at - created).total_seconds() / 3600)
            kept_by_day[promise.delivered_at.date().isoformat()].append(kept)
        elif deadline < end:
            kept = False
        else:
            continue
        domestic = factories[promise.factory_id].country == ship_to["country"]
        samples["all"].append(kept)
        samples["domestic" if domestic else "global"].append(kept)
        at = flagged.get(str(promise.line_id))
        if at is not None:
            flag_hours.append((deadline - at).total_seconds() / 3600)
    costs = _costs(rows, factories, cost_rows, parcels, measured, record)
    util = _utilisation(record, factories, capacity, start, days)
    orders = len(record.orders) + sum(record.walk_aways.values())
    return {
        "policy": record.policy,
        "orders": orders,
        "placed": len(record.orders),
        "walk_aways": sum(record.walk_aways.values()),
        "walk_away_rate": _rate(sum(record.walk_aways.values()), orders),
        "walk_away_reasons": dict(sorted(record.walk_aways.items())),
        "promises_judged": len(samples["all"]),
        "promise_kept_rate": _rate(sum(samples["all"]), len(samples["all"])),
        "promise_kept_rate_domestic": _rate(sum(samples["domestic"]), len(samples["domestic"])),
        "promise_kept_rate_global": _rate(sum(samples["global"]), len(samples["global"])),
        "lead_time_hours_p50": _pct(lead, 50),
        "lead_time_hours_p95": _pct(lead, 95),
        "delivered_lines": len(lead),
        **costs["all"],
        "cost_per_unit_fastest_buyers": costs["fastest"]["cost_per_unit"],
        "cost_per_unit_cheapest_buyers": costs["cheapest"]["cost_per_unit"],
        "cost_currency": "USD",
        "cost_by_buyer": costs["by_buyer"],
        "setups_per_unit": _rate(record.floor.lots, record.floor.units) if record.floor else None,
        "scrapped_units": record.floor.scrapped if record.floor else 0,
        "utilisation": util,
        "rerouted_lines": len(rerouted),
        "at_risk_flagged": len(flagged),
        "at_risk_hours_before_deadline_p50": _pct(flag_hours, 50),
        "customs_holds": record.shipping.holds if record.shipping else 0,
        "replans": record.replans,
        "schedules": record.schedules,
        "wall_seconds": round(record.wall_seconds, 1),
        "wall_seconds_by_activity": {what: round(sec, 1) for what, sec in sorted(record.spent.items())}
        | {"floor, carriers and the rest": round(record.wall_seconds - sum(record.spent.values()), 1)},
        "daily": _daily(record, capacity, kept_by_day, start, days),
        "lead_times": sorted(round(h, 1) for h in lead),
    }


def _costs(
    rows: list[Any],
    factories: dict[str, _Factory],
    cost_rows: list[Any],
    parcels: list[Any],
    measured: set[str],
    record: Record,
) -> dict[str, Any]:
    """Production and shipping cost per unit of the measured lines that shipped: of them all, and of the buyers
    who wanted the fastest offer and of those who wanted the cheapest; and each buyer's cost and units.

    The split shows what the buyers' own wish costs: a policy that dates offers by capacity gives the fastest
    to those who want it, while under a fixed lead time every offer has the same date and every buyer ends up
    with the cheapest. Per buyer, `same_buyers` can compare two policies on the buyers both served."""
    cost_per_minute = {f.id: f.cost_per_minute for f in factories.values()}
    shipped = {x for line_ids, _ in parcels for x in line_ids} & measured
    production: dict[str, float] = defaultdict(float)
    for line, f, c, minutes in cost_rows:
        if str(line) in shipped:
            production[str(line)] += minutes * cost_per_minute[f].get(c, 0)
    shipping: dict[str, float] = defaultdict(float)
    for line_ids, cost in parcels:
        for x in line_ids:
            if x in measured:
                shipping[x] += cost / len(line_ids)
    placed = {order["id"]: order for order in record.orders}
    groups: dict[str, list[Any]] = {"all": [], "fastest": [], "cheapest": []}
    by_buyer: dict[int, list[Any]] = {}
    """buyer: [cost in minor units, units, wanted the fastest]"""
    for p in rows:
        if str(p.line_id) in shipped:
            groups["all"].append(p)
            order = placed.get(str(p.order_id), {})
            groups["fastest" if order.get("fastest") else "cheapest"].append(p)
            if "buyer" in order:
                cost_units = by_buyer.setdefault(order["buyer"], [0.0, 0, bool(order.get("fastest"))])
                cost_units[0] += production[str(p.line_id)] + shipping[str(p.line_id)]
                cost_units[1] += p.quantity
    out: dict[str, Any] = {"by_buyer": by_buyer}
    for who, lines in groups.items():
        units = sum(p.quantity for p in lines)
        made = sum(production[str(p.line_id)] for p in lines)
        carried = sum(shipping[str(p.line_id)] for p in lines)
        out[who] = {
            "cost_per_unit": _usd_per_unit(made + carried, units),
            "production_cost_per_unit": _usd_per_unit(made, units),
            "shipping_cost_per_unit": _usd_per_unit(carried, units),
        }
    return out


def _utilisation(
    record: Record, factories: dict[str, _Factory], capacity: list[Any], start: datetime, days: int
) -> dict[str, Any]:
    """Machine minutes worked over minutes available, per factory, per region and per factory x day."""
    window = {(start + timedelta(days=d)).date().isoformat() for d in range(days)}
    available: dict[tuple[str, str], float] = defaultdict(float)
    for factory_id, day, avail, _ in capacity:
        if day.isoformat() in window:
            available[(factory_id, day.isoformat())] += float(avail or 0)
    busy = record.floor.busy if record.floor else {}
    by_factory: dict[str, float | None] = {}
    by_region: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    heat: dict[str, dict[str, float]] = {}
    for fid in sorted(factories):
        worked = sum(v for (f, d), v in busy.items() if f == fid and d in window)
        avail = sum(v for (f, _), v in available.items() if f == fid)
        by_factory[fid] = round(worked / avail, 4) if avail else None
        region = by_region[factories[fid].region]
        region[0], region[1] = region[0] + worked, region[1] + avail
        heat[fid] = {
            d: round(busy.get((fid, d), 0.0) / available[(fid, d)], 3) if available.get((fid, d)) else 0.0
            for d in sorted(window)
        }
    total_worked = sum(v[0] for v in by_region.values())
    total_avail = sum(v[1] for v in by_region.values())
    return {
        "mesh": round(total_worked / total_avail, 4) if total_avail else None,
        "by_region": {r: round(w / a, 4) if a else None for r, (w, a) in sorted(by_region.items())},
        "by_factory": by_factory,
        "heat": heat,
    }


def _daily(
    record: Record, capacity: list[Any], kept_by_day: dict[str, list[bool]], start: datetime, days: int
) -> list[dict[str, Any]]:
    placed: dict[str, int] = defaultdict(int)
    for order in record.orders:
        placed[order["day"]] += 1
    load: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for _, day, avail, reserved in capacity:
        load[day.isoformat()][0] += float(reserved or 0)
        load[day.isoformat()][1] += float(avail or 0)
    out = []
    for d in range(days):
        day = (start + timedelta(days=d)).date().isoformat()
        kept = kept_by_day.get(day, [])
        r, a = load.get(day, [0.0, 0.0])
        out.append(
            {
                "day": day,
                "orders": placed.get(day, 0),
                "walk_aways": record.walked_by_day.get(day, 0),
                "capacity_hours": round(a / 60, 1),
                "reserved_hours": round(r / 60, 1),
                "delivered": len(kept),
                "kept_rate": _rate(sum(kept), len(kept)),
                "wall_seconds": round(record.wall_by_day.get(day, 0.0), 2),
            }
        )
    return out


def same_buyers(results: dict[str, dict[str, Any]], by_buyer: dict[str, dict[int, list[Any]]]) -> None:
    """Add to each baseline the cost per unit of the buyers it and `meshfab` both served and shipped, under
    each: the same buyers with the same orders, so the figure is free of who else each policy served (a
    policy that turns the impatient away keeps the buyers that cheap, slow lanes suit). Split by the buyers'
    wish too: on the buyers who asked for the cheapest offer both policies were asked for the same thing, so
    what is left of the gap there is the platform's; on those who asked for the fastest it is the speed they
    chose (and paid for in the offer's price)."""
    mine = by_buyer.get("meshfab")
    if mine is None:
        return
    for name, theirs in by_buyer.items():
        if name == "meshfab":
            continue
        shared = sorted(set(mine) & set(theirs))
        results[name]["same_buyers_as_meshfab"] = _compared(mine, theirs, shared) | {
            f"{wish}_buyers": _compared(mine, theirs, [b for b in shared if mine[b][2] == fastest])
            for wish, fastest in (("fastest", True), ("cheapest", False))
        }


def _compared(mine: dict[int, list[Any]], theirs: dict[int, list[Any]], buyers: list[int]) -> dict[str, Any]:
    return {
        "buyers": len(buyers),
        "cost_per_unit": _per_unit(theirs, buyers),
        "meshfab_cost_per_unit": _per_unit(mine, buyers),
    }


def _per_unit(costs: dict[int, list[Any]], buyers: list[int]) -> float | None:
    return _usd_per_unit(sum(costs[b][0] for b in buyers), sum(costs[b][1] for b in buyers))


def _usd_per_unit(minor: float, units: float) -> float | None:
    """Cost in minor units over units, as dollars and cents; None when nothing shipped."""
    return round(minor / units / 100, 2) if units else None
