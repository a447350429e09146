"""Translation between the stored mesh and the routing engine's problem: one module, both directions.

Days are indices from the earliest local "today" among the factories; the engine's model is "made in one day,
shipped that day", the quote's best case (the service then dates the real hand-over from the day's shifts and
the lane cutoff, and judges the promise on that). A factory's days before its own local today offer no room
(factories east of the earliest zone have already lived them); its local today offers room only while there
are working minutes left. A line's capacity at its own factory counts its own reservations as free (it is
being re-planned, so its minutes are on the table); every other reservation stays taken. Each (region,
destination country) is priced in the plan by its cheapest lane: the plan trades cost against lateness with
that lane. A line that moves keeps the service its buyer chose: it ships on a lane of the new route no slower
than its own (`NetworkView.lane_for`), and its promise is judged on that lane.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from meshfab.domain.factories import Factory, FactoryStatus
from meshfab.domain.lanes import Lane
from meshfab.domain.orders import OrderStatus, PromiseStatus
from meshfab.engines import routing
from meshfab.engines.promise.timegrid import destination_zone
from meshfab.services.configured import Configurations
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
    lane_id: str = ""
    """the lane of the accepted promise: the service the buyer chose (and may have paid for)"""


@dataclass(frozen=True)
class NetworkView:
    problem: routing.RoutingProblem
    base: date
    factories: dict[str, Factory]
    lanes: dict[tuple[str, str], Lane]
    lines: dict[str, PlannedLine]
    buckets: int
    transit: dict[tuple[str, str], int]
    """days from ship day to delivery date per (region, destination country), as the quote counts them"""
    handover_margin: timedelta = timedelta(0)
    """a moved line ships at a cutoff only if ready this long before it, as the quote has it"""
    every_lane: dict[str, Lane] = field(default_factory=dict)

    def day(self, index: int) -> date:
        return self.base + timedelta(days=index)

    def lane_for(self, line: PlannedLine, region: str) -> Lane:
        """The lane a line ships on from ``region``: its own when that is where the lane starts, else the cheapest
        lane from there that is no slower (a move must not downgrade the service the buyer chose), else the
        fastest. The plan itself prices every line with the cheapest lane of its route; this is what is applied
        and judged."""
        own = self.every_lane.get(line.lane_id)
        if own is not None and own.origin_region == region and own.destination_country == line.country:
            return own
        routes = [
            lane
            for lane in self.every_lane.values()
            if lane.origin_region == region and lane.destination_country == line.country
        ]
        if own is None or not routes:
            return self.lanes[(region, line.country)]
        needed = _hours(own)
        fast_enough = [lane for lane in routes if _hours(lane) <= needed]
        if fast_enough:
            return min(fast_enough, key=lambda x: (x.cost_per_parcel, _hours(x), x.id))
        return min(routes, key=lambda x: (_hours(x), x.cost_per_parcel, x.id))


def _hours(lane: Lane) -> float:
    return lane.allowance_hours


def transit_days(lane: Lane, origin: Factory | None, ship_day: date) -> int:
    """Days from a ship day to the delivery date the promise engine would quote for it.

    Mirrors the quote: leave at the lane's cutoff in the factory's zone, arrive p95 hours (plus customs days)
    later, and date the arrival in the destination's zone; without a factory of the region, whole days.
    """
    if origin is None:
        return math.ceil(lane.allowance_hours / 24)
    leaves = origin.at_local(ship_day, lane.cutoff)
    arrives = leaves + timedelta(hours=lane.allowance_hours)
    return (arrives.astimezone(ZoneInfo(destination_zone(lane.destination_country))).date() - ship_day).days


def cheapest_lanes(lanes: list[Lane]) -> dict[tuple[str, str], Lane]:
    chosen: dict[tuple[str, str], Lane] = {}
    for lane in sorted(lanes, key=lambda x: (x.cost_per_parcel, x.transit_hours_p95, x.id)):
        chosen.setdefault((lane.origin_region, lane.destination_country), lane)
    return chosen


def read_network(
    session: Session, now: datetime, horizon: int, weights: routing.Weights, handover_margin_minutes: int = 0
) -> NetworkView:
    factories = {f.id: f for f in FactoryRepository(session).list()}
    base = min((f.local_day(now) for f in factories.values()), default=now.astimezone(UTC).date())
    every_lane = LaneRepository(session).list()
    lanes = cheapest_lanes(every_lane)
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
        today = f.local_day(now)
        for wc in f.workcenters:
            for d in range(horizon):
                day = base + timedelta(days=d)
                own = mine.get((f.id, wc.capability, day), 0)
                if day < today or (day == today and not _minutes_left(f, now)):
                    capacity[(wc.capability, d)] = own  # a day lived: only lines already there may stay
                    continue
                row = stored.get((f.id, wc.capability, day))
                free = (row.available - row.reserved) if row else f.capacity_minutes(wc.capability, day)
                capacity[(wc.capability, d)] = max(0, free + own)
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
    in_region = {f.location.region: f for f in sorted(factories.values(), key=lambda f: f.id)}
    transit = {key: transit_days(lane, in_region.get(key[0]), base) for key, lane in lanes.items()}
    engine_lanes = tuple(
        routing.Lane(origin, country, transit[(origin, country)], float(lane.cost_per_parcel))
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
    margin = timedelta(minutes=handover_margin_minutes)
    return NetworkView(
        problem, base, factories, lanes, lines, len(stored), transit, margin, {lane.id: lane for lane in every_lane}
    )


def _minutes_left(factory: Factory, now: datetime) -> bool:
    """Whether the factory's local today still has a shift that ends after `now`."""
    today = factory.local_day(now)
    return any(factory.at_local(today, shift.end) > now for shift in factory.calendar.shifts_on(today))


def ready_at(factory: Factory, day: date, minutes: int, now: datetime) -> datetime:
    """When a line of `minutes` begun on `day` would be made, its operations one after another.

    The quote's best case: the day's shifts are walked from their start (from `now` on the local today).
    """
    left = minutes
    end = factory.at_local(day, time(23, 59))
    for shift in factory.calendar.shifts_on(day):
        start, end = max(factory.at_local(day, shift.start), now), factory.at_local(day, shift.end)
        if start >= end:
            continue
        span = (end - start).total_seconds() / 60
        if left <= span:
            return start + timedelta(minutes=left)
        left -= span
    return end


def _unstarted_lines(session: Session, base: date) -> dict[str, PlannedLine]:
    """Allocated lines whose promise is still to be kept; their minutes come from the configurator."""
    unstarted = (
        OrderRow.status == OrderStatus.allocated.value,
        PromiseRow.status.in_([PromiseStatus.kept.value, PromiseStatus.at_risk.value]),
    )
    rows = session.execute(
        select(
            OrderLineRow.id,
            OrderLineRow.order_id,
            OrderLineRow.template_key,
            OrderLineRow.options,
            OrderLineRow.quantity,
            PromiseRow.delivery_by,
            OrderRow.ship_to,
            PromiseRow.lane_id,
        )
        .join(PromiseRow, PromiseRow.line_id == OrderLineRow.id)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(*unstarted)
        .order_by(OrderLineRow.id)
    ).all()
    held: dict[UUID, list[Held]] = defaultdict(list)
    for r in session.execute(  # the same lines' reservations, joined: a list of their ids could pass 65,535
        select(
            ReservationRow.line_id,
            ReservationRow.factory_id,
            ReservationRow.capability,
            ReservationRow.day,
            ReservationRow.minutes,
            ReservationRow.setup_family,
        )
        .join(PromiseRow, PromiseRow.line_id == ReservationRow.line_id)
        .join(OrderRow, OrderRow.id == PromiseRow.order_id)
        .where(*unstarted)
        .order_by(ReservationRow.id)
    ):
        held[r.line_id].append(Held(r.factory_id, r.capability, r.day, r.minutes, r.setup_family))
    configurations = Configurations(TemplateRepository(session))
    lines: dict[str, PlannedLine] = {}
    for line_id, order_id, template_key, options, quantity, delivery_by, ship_to, lane_id in rows:
        config = configurations.of(template_key, options, quantity)
        if config is None:
            continue
        minutes: dict[str, int] = defaultdict(int)
        for op in config.operations or []:
            minutes[op.capability] += math.ceil(op.setup_minutes + op.run_minutes_per_unit * quantity)
        lines[str(line_id)] = PlannedLine(
            line_id, order_id, ship_to["country"], delivery_by, dict(minutes), held[line_id], lane_id
        )
    return lines
