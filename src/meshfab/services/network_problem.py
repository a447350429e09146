"""Translation between the stored mesh and the routing engine's problem: one module, both directions.

Days are indices from the earliest local "today" among the factories. A line's capacity at its own factory
counts its own reservations as free (it is being re-planned, so its minutes are on the table); every other
reservation stays taken. Each (region, destination country) is served in the plan by its cheapest lane: the
plan trades cost against lateness with that lane, and the parcel stage may still pick a faster service.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshfab.domain.factories import Factory, FactoryStatus
from meshfab.domain.lanes import Lane
from meshfab.domain.orders import OrderStatus, PromiseStatus
from meshfab.engines import routing
from meshfab.engines.configurator import configure
from meshfab.store.repositories import FactoryRepository, LaneRepository, TemplateRepository
from meshfab.store.tables import BucketRow, OrderLineRow, OrderRow, PromiseRow, ReservationRow

STATUS = {
    FactoryStatus.active: routing.FactoryStatus.ACTIVE,
    FactoryStatus.paused: routing.FactoryStatus.PAUSED,
    FactoryStatus.dark: routing.FactoryStatus.DARK,
}


@dataclass(frozen=True)
class Held:
    """A reservation as read when the plan was made (plain data: it outlives the session that read it)."""

    factory_id: str
    capability: str
    day: date
    minutes: int
    setup_family: str


@dataclass(frozen=True)
class PlannedLine:
    """What the service needs to apply a new allocation of one line."""

    line_id: UUID
    order_id: UUID
    country: str
    promised: date
    minutes: dict[str, int]
    reservations: list[Held]


@dataclass(frozen=True)
class NetworkView:
    problem: routing.RoutingProblem
    base: date
    factories: dict[str, Factory]
    lanes: dict[tuple[str, str], Lane]
    lines: dict[str, PlannedLine]
    buckets: int

    def day(self, index: int) -> date:
        return self.base + timedelta(days=index)


def transit_days(lane: Lane) -> int:
    return math.ceil(lane.transit_hours_p95 / 24) + lane.customs_days


def cheapest_lanes(lanes: list[Lane]) -> dict[tuple[str, str], Lane]:
    chosen: dict[tuple[str, str], Lane] = {}
    for lane in sorted(lanes, key=lambda x: (x.cost_per_parcel, x.transit_hours_p95, x.id)):
        chosen.setdefault((lane.origin_region, lane.destination_country), lane)
    return chosen


def read_network(session: Session, now: datetime, horizon: int, weights: routing.Weights) -> NetworkView:
    factories = {f.id: f for f in FactoryRepository(session).list()}
    base = min((f.local_day(now) for f in factories.values()), default=now.astimezone(UTC).date())
    lanes = cheapest_lanes(LaneRepository(session).list())
    lines = _unstarted_lines(session, base)
    mine: dict[tuple[str, str, date], int] = defaultdict(int)
    for line in lines.values():
        for r in line.reservations:
            mine[(r.factory_id, r.capability, r.day)] += r.minutes
    stored = {
        (b.factory_id, b.capability, b.day): b
        for b in session.scalars(
            select(BucketRow).where(BucketRow.day >= base, BucketRow.day < base + timedelta(days=horizon))
        )
    }
    engine_factories = []
    for f in factories.values():
        capacity: dict[tuple[str, int], int] = {}
        for wc in f.workcenters:
            for d in range(horizon):
                day = base + timedelta(days=d)
                row = stored.get((f.id, wc.capability, day))
                free = (row.available - row.reserved) if row else f.capacity_minutes(wc.capability, day)
                capacity[(wc.capability, d)] = max(0, free + mine.get((f.id, wc.capability, day), 0))
        engine_factories.append(
            routing.Factory(
                id=f.id,
                region=f.location.region,
                cost_per_minute={k: float(v) for k, v in f.cost_per_minute.items()},
                capacity=capacity,
                status=STATUS[f.status],
                trust=f.trust_score,
            )
        )
    engine_lanes = tuple(
        routing.Lane(origin, country, transit_days(lane), float(lane.cost_per_parcel))
        for (origin, country), lane in sorted(lanes.items())
    )
    engine_lines = []
    for key, line in sorted(lines.items()):
        days = [(r.day - base).days for r in line.reservations]
        current = line.reservations[0].factory_id if line.reservations else None
        engine_lines.append(
            routing.Line(
                id=key,
                quantity=1,
                ship_to=line.country,
                promised_day=(line.promised - base).days,
                operations=tuple(routing.Operation(cap, float(m), 0.0) for cap, m in sorted(line.minutes.items())),
                current_factory=current if current in factories else None,
                current_day=max(days) if days and 0 <= max(days) < horizon else None,
            )
        )
    problem = routing.RoutingProblem(
        lines=tuple(engine_lines),
        factories=tuple(engine_factories),
        lanes=engine_lanes,
        horizon_days=horizon,
        weights=weights,
    )
    return NetworkView(problem, base, factories, lanes, lines, len(stored))


def _unstarted_lines(session: Session, base: date) -> dict[str, PlannedLine]:
    """Allocated lines whose promise is still to be kept; their minutes come from the configurator."""
    rows = session.execute(
        select(OrderLineRow, PromiseRow, OrderRow.ship_to)
        .join(PromiseRow, PromiseRow.line_id == OrderLineRow.id)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(
            OrderRow.status == OrderStatus.allocated.value,
            PromiseRow.status.in_([PromiseStatus.kept.value, PromiseStatus.at_risk.value]),
        )
        .order_by(OrderLineRow.id)
    ).all()
    held: dict[UUID, list[Held]] = defaultdict(list)
    for r in session.scalars(select(ReservationRow).where(ReservationRow.line_id.in_([row[0].id for row in rows]))):
        held[r.line_id].append(Held(r.factory_id, r.capability, r.day, r.minutes, r.setup_family))
    templates = TemplateRepository(session)
    lines: dict[str, PlannedLine] = {}
    for line, promise, ship_to in rows:
        template = templates.get(line.template_key)
        if template is None:
            continue
        config = configure(template, line.options, quantity=line.quantity)
        minutes: dict[str, int] = defaultdict(int)
        for op in config.operations or []:
            minutes[op.capability] += math.ceil(op.setup_minutes + op.run_minutes_per_unit * line.quantity)
        lines[str(line.id)] = PlannedLine(
            line.id, line.order_id, ship_to["country"], promise.delivery_by, dict(minutes), held[line.id]
        )
    return lines
