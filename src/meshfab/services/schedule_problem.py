"""Translation between one factory's stored work and the scheduling engine: minutes from "now".

* Workcenters are the factory's, one per capability (id = capability), with their machine count and
  efficiency; the calendar is the factory's shifts, in its own time zone, as minutes from now.
* Every open line at the factory becomes a `LineRequest`: its route is the configured operations in
  sequence, its family the set of setup families of those operations, its due time the ship cutoff its
  promise depends on. Scrapped units come back as replacement lines released at the report.
* A work order already started is passed as a fixed lot: its operations stay on their machines and times.
* Between lots of different families a machine needs a changeover (`CHANGEOVER` minutes); the template's own
  per-lot set-up minutes are part of each operation's duration.
* An operation never spans a break (the engine's rule), so lots are capped at what fits in the longest shift.
* Only the work within the release window is scheduled (`engines.scheduling.release`); the rest waits, still
  promised and reserved, for a later schedule.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from meshfab.domain.factories import Factory
from meshfab.domain.orders import OrderStatus, PromiseStatus
from meshfab.domain.work import WorkOrderStatus
from meshfab.engines import scheduling as sch
from meshfab.engines.configurator import Configuration
from meshfab.services.configured import Configurations
from meshfab.store.repositories import TemplateRepository
from meshfab.store.tables import OrderLineRow, OrderRow, PromiseRow, WorkOrderRow

CHANGEOVER = 10
HORIZON_DAYS = 21


@dataclass(frozen=True)
class Demand:
    request: sch.LineRequest
    line_id: UUID
    order_id: UUID
    due_at: datetime


@dataclass(frozen=True)
class FactoryWork:
    problem: sch.ScheduleProblem
    origin: datetime
    demands: dict[str, Demand]
    """the lines the schedule places, by request id (a replacement line has its own)"""
    started: list[UUID]
    waiting: tuple[str, ...] = ()
    """request ids of the lines beyond the release window, left for a later schedule"""


def minutes(origin: datetime, instant: datetime) -> int:
    return math.floor((instant - origin).total_seconds() / 60)


def at(origin: datetime, offset: int) -> datetime:
    return origin + timedelta(minutes=offset)


def calendar(factory: Factory, origin: datetime) -> tuple[tuple[int, int], ...]:
    first = factory.local_day(origin) - timedelta(days=1)
    windows = []
    for day in factory.days(first, HORIZON_DAYS + 1):
        for start, end in factory.working_windows(day):
            s, e = max(0, minutes(origin, start)), minutes(origin, end)
            if e > s:
                windows.append((s, e))
    return tuple(windows)


def read_factory_work(
    session: Session, factory: Factory, origin: datetime, release_days: float | None = None
) -> FactoryWork:
    """The factory's open work as a schedule problem; with `release_days`, only the work the release window
    takes (`engines.scheduling.release`), the rest listed as waiting."""
    orders = session.execute(
        select(
            OrderLineRow.id,
            OrderLineRow.order_id,
            OrderLineRow.template_key,
            OrderLineRow.options,
            OrderLineRow.quantity,
            PromiseRow.ship_at,
            OrderRow.created_at,
        )
        .join(PromiseRow, PromiseRow.line_id == OrderLineRow.id)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(
            PromiseRow.factory_id == factory.id,
            PromiseRow.status.in_([PromiseStatus.kept.value, PromiseStatus.at_risk.value]),
            OrderRow.status.in_([OrderStatus.allocated.value, OrderStatus.in_production.value]),
        )
        .order_by(OrderLineRow.id)
    ).all()
    work = list(
        session.scalars(
            select(WorkOrderRow)
            .where(
                WorkOrderRow.factory_id == factory.id,
                WorkOrderRow.status.in_([WorkOrderStatus.started.value, WorkOrderStatus.replacement.value]),
            )
            .order_by(WorkOrderRow.id)
        )
    )
    busy = on_the_floor(session, factory.id, min(row.created_at for row in orders))[1] if orders else set()
    replaced: dict[str, list[WorkOrderRow]] = {}
    for w in work:
        if w.status == WorkOrderStatus.replacement:
            for line_id in w.line_ids:
                replaced.setdefault(line_id, []).append(w)
    routes = _Routes(Configurations(TemplateRepository(session)))
    demands: dict[str, Demand] = {}
    for line_id, order_id, template_key, options, quantity, ship_at, _ in orders:
        route = routes.of(template_key, options, quantity)
        if route is None:
            continue
        request = sch.LineRequest(str(line_id), route[1], quantity, route[0], due=minutes(origin, ship_at))
        if str(line_id) not in busy:
            demands[request.id] = Demand(request, line_id, order_id, ship_at)
        for w in replaced.get(str(line_id), []):  # scrapped units of this line come back as replacement lines
            released = max(0, minutes(origin, w.released_at or origin))
            again = sch.replacement_line(request, w.quantity, reported_at=released, suffix=f"r{w.id.hex[:8]}")
            demands[again.id] = Demand(again, line_id, order_id, ship_at)
    fixed_lots, started_ops, started_ids = _started(work, origin)
    workcenters = tuple(sch.Workcenter(w.capability, w.capability, w.count, w.efficiency) for w in factory.workcenters)
    hours = calendar(factory, origin)
    requests, waiting = [d.request for d in demands.values()], []
    if release_days is not None:
        requests, waiting = sch.release(requests, workcenters, hours, math.floor(release_days * 24 * 60))
        demands = {r.id: demands[r.id] for r in requests}
    problem = sch.ScheduleProblem(
        workcenters=workcenters,
        lots=factory_lots(factory, requests) + fixed_lots,
        calendar=hours,
        default_setup=CHANGEOVER,
        started=started_ops,
    )
    return FactoryWork(problem, origin, demands, started_ids, tuple(r.id for r in waiting))


def on_the_floor(session: Session, factory_id: str, since: datetime) -> tuple[set[str], set[str]]:
    """The lots started, or finished since `since`, and their lines: work on the floor, no longer a schedule's
    to place. A schedule reads them before its solve (`since` the oldest open order's creation: a lot holding
    one of its lines was released after the order was placed, and a factory keeps every lot it ever made) and
    again before it releases its lots (`since` its read: the floor does not wait for a solve)."""
    finished = and_(
        WorkOrderRow.status == WorkOrderStatus.finished.value,
        or_(WorkOrderRow.finished_at >= since, WorkOrderRow.finished_at.is_(None)),
    )
    rows = session.execute(
        select(WorkOrderRow.lot_id, WorkOrderRow.line_ids).where(
            WorkOrderRow.factory_id == factory_id,
            or_(WorkOrderRow.status == WorkOrderStatus.started.value, finished),
            WorkOrderRow.lot_id != "",
        )
    )
    lots: set[str] = set()
    lines: set[str] = set()
    for lot_id, line_ids in rows:
        lots.add(lot_id)
        lines.update(line_ids)
    return lots, lines


class _Routes:
    """Each line's route and setup family, worked out once per distinct product (see `Configurations`)."""

    def __init__(self, configurations: Configurations) -> None:
        self.configurations = configurations
        self.known: dict[tuple[str, str, int], tuple[tuple[sch.Step, ...], str] | None] = {}

    def of(self, template_key: str, options: dict[str, Any], quantity: int) -> tuple[tuple[sch.Step, ...], str] | None:
        key = (template_key, json.dumps(options, sort_keys=True), quantity)
        if key not in self.known:
            config = self.configurations.of(template_key, options, quantity)
            self.known[key] = None if config is None else _route(config)
        return self.known[key]


def _route(config: Configuration) -> tuple[tuple[sch.Step, ...], str]:
    ops = sorted(config.operations or [], key=lambda op: op.sequence)
    route = tuple(
        sch.Step(
            f"{i}-{op.capability}", (sch.StepMode(op.capability, op.setup_minutes, float(op.run_minutes_per_unit)),)
        )
        for i, op in enumerate(ops)
    )
    return route, "+".join(sorted({op.setup_family for op in ops}))


def factory_lots(factory: Factory, requests: list[sch.LineRequest]) -> tuple[sch.Lot, ...]:
    """Lots of the factory's lines, each route capped by its own largest fitting lot: one product with a long
    step must not shrink every other product's lots to a unit (and so pay a set-up per unit)."""
    by_size: dict[int, list[sch.LineRequest]] = {}
    for request in requests:
        by_size.setdefault(fitting_lot(factory, [request]), []).append(request)
    return tuple(
        lot
        for most, group in sorted(by_size.items())
        for lot in sch.build_lots(group, sch.LotPolicy(min(factory.min_lot, most), most))
    )


def fitting_lot(factory: Factory, requests: list[sch.LineRequest]) -> int:
    """The largest lot whose every operation fits in the factory's longest shift: an operation never spans a
    break, so a lot too big for a shift is split rather than left unschedulable."""
    longest = max(shift.minutes for shift in factory.calendar.shifts)
    most = factory.max_lot
    for request in requests:
        for step in request.route:
            for mode in step.modes:
                wc = factory.workcenter(mode.resource)
                room = longest * (wc.efficiency if wc else 1.0) - mode.setup_minutes - CHANGEOVER
                if mode.run_minutes > 0:
                    most = min(most, max(1, math.floor(room / mode.run_minutes)))
    return most


def _started(
    work: list[WorkOrderRow], origin: datetime
) -> tuple[tuple[sch.Lot, ...], tuple[sch.Started, ...], list[UUID]]:
    lots, started, ids = [], [], []
    for w in work:
        if w.status != WorkOrderStatus.started or not w.operations:
            continue
        ops = [
            sch.Operation(op["operation_id"], (sch.Mode(op["workcenter_id"], op["end"] - op["start"]),))
            for op in w.operations
        ]
        lots.append(sch.Lot(w.lot_id, w.setup_family, tuple(ops), tuple(sch.LinePart(line, 1) for line in w.line_ids)))
        started += [
            sch.Started(op["operation_id"], op["machine_id"], minutes(origin, datetime.fromisoformat(op["at"])))
            for op in w.operations
        ]
        ids.append(w.id)
    return tuple(lots), tuple(started), ids
