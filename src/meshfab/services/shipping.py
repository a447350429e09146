"""From finished lines to delivered parcels: consolidate, choose the service, declare customs, track.

Parcels are made when the last open work of a line finishes (`parcel_finished_lines`); the lane service is
the cheapest whose p95 keeps the promise, else the fastest, and then the promise is flagged at risk at once.
Carrier scans arrive through `record_scans` in any order; a delivered parcel closes its lines' promises as
kept or broken (with the hours late), and an order is delivered when all its lines are.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from meshfab.domain.customs import CustomsRules, load_rules
from meshfab.domain.errors import NotFound
from meshfab.domain.events import Event
from meshfab.domain.geo import Address
from meshfab.domain.orders import OrderStatus, PromiseStatus
from meshfab.domain.parcels import ParcelStatus, TrackingEvent, TrackingState, apply, missed_scan, start_tracking
from meshfab.domain.principals import Principal, Role
from meshfab.domain.work import WorkOrderStatus
from meshfab.engines.customs import customs_declaration, estimate_duties
from meshfab.engines.parcels import FinishedLine, choose_service, consolidate, promise_broken
from meshfab.engines.promise.timegrid import DESTINATION_ZONES, FALLBACK_ZONE
from meshfab.services.access import require_factory_access, require_merchant_access, require_role
from meshfab.services.configured import Configurations
from meshfab.services.platform import Platform
from meshfab.services.risk import mark_at_risk
from meshfab.store.repositories import in_chunks, rows_by_key
from meshfab.store.tables import OrderLineRow, OrderRow, ParcelRow, PromiseRow, WorkOrderRow
from meshfab.store.uow import UnitOfWork

CUSTOMS_RULES = Path(__file__).resolve().parents[3] / "examples" / "yiwu" / "customs.yaml"


@lru_cache(maxsize=4)
def customs_rules(path: Path = CUSTOMS_RULES) -> CustomsRules:
    return load_rules(yaml.safe_load(path.read_text(encoding="utf-8")))


def _waiting_lots(session: Session, factory_id: str) -> list[Row[tuple[UUID, list[str]]]]:
    """The factory's finished lots with a line not yet in a parcel (`parcelled_at` unset), and their lines.

    A factory keeps every lot and parcel it ever had; reading them all on each finished lot made the call
    slower with every day (3.8 ms for a factory with 257 lots, growing with each). Only these lots can hold a
    line that is ready now, and each line's parcels are found through its order, so the reads stay the size
    of the open work."""
    return list(
        session.execute(
            select(WorkOrderRow.id, WorkOrderRow.line_ids).where(
                WorkOrderRow.factory_id == factory_id,
                WorkOrderRow.status == WorkOrderStatus.finished.value,
                WorkOrderRow.parcelled_at.is_(None),
            )
        )
    )


def parcel_finished_lines(platform: Platform, factory_id: str) -> list[UUID]:
    """Parcels for every line at `factory_id` whose work is all finished and that is not in a parcel yet."""
    now = platform.clock.now()
    made: list[UUID] = []
    with platform.uow() as uow:
        waiting = _waiting_lots(uow.session, factory_id)
        if not waiting:
            return []
        candidates = sorted({line for _, lines in waiting for line in lines})
        orders_of = select(OrderLineRow.order_id).where(OrderLineRow.id.in_([UUID(x) for x in candidates]))
        parcelled = {
            line
            for lines in uow.session.scalars(
                select(ParcelRow.line_ids).where(ParcelRow.factory_id == factory_id, ParcelRow.order_id.in_(orders_of))
            )
            for line in lines
        }
        still_open = uow.work_orders.open_lines(factory_id)
        ready = [line for line in candidates if line not in parcelled and line not in still_open]
        if ready:
            made = _make_parcels(platform, uow, factory_id, ready, now)
        done = [lot for lot, lines in waiting if all(line in parcelled or line in ready for line in lines)]
        if done:
            uow.session.execute(update(WorkOrderRow).where(WorkOrderRow.id.in_(done)).values(parcelled_at=now))
        uow.commit()
    return made


def _make_parcels(platform: Platform, uow: UnitOfWork, factory_id: str, ready: list[str], now: datetime) -> list[UUID]:
    """Consolidate the ready lines into parcels, each on the service that keeps its promise (or the fastest)."""
    made: list[UUID] = []
    factory = uow.factories.get(factory_id)
    assert factory is not None
    line_ids = [UUID(line_id) for line_id in ready]
    lines = rows_by_key(uow.session, OrderLineRow, OrderLineRow.id, line_ids)
    orders = _recipients(uow.session, {line.order_id for line in lines.values()})
    promises = rows_by_key(uow.session, PromiseRow, PromiseRow.line_id, line_ids)  # `_at_risk` marks them
    configurations = Configurations(uow.templates)
    finished = [
        _finished_line(uow, lines[line_id], orders, configurations, factory_id, factory.location.country, now)
        for line_id in line_ids
    ]
    lanes = uow.lanes.list(origin_region=factory.location.region)  # the only lanes its parcels can take
    for plan in consolidate(finished, {factory_id: factory}, lanes):
        order = orders[plan.items[0].order_id]
        promised = min(promises[i.line_id].delivery_by for i in plan.items)
        choice = choose_service(plan, lanes, factory, promised, now)
        customs = None
        rules = customs_rules()
        if rules.crosses_border(plan.origin_country, plan.destination_country):
            merchant = uow.merchants.get(order.merchant_id)
            assert merchant is not None
            declaration = customs_declaration(
                plan.items,
                plan.origin_country,
                plan.destination_country,
                merchant.incoterm.value,
                order.currency,
                rules,
                shipping=choice.cost.amount,
            )
            estimate = estimate_duties(declaration, rules)
            customs = {
                "declaration": _plain(declaration),
                "estimate": {**_plain(estimate), "total": estimate.total},
            }
        tracking = start_tracking(choice.ship_at, choice.expected_delivery_p95)
        row = ParcelRow(
            id=uuid.uuid4(),
            key=plan.key,
            order_id=order.id,
            factory_id=factory_id,
            lane_id=choice.lane.id,
            line_ids=[str(i.line_id) for i in plan.items],
            items=[_plain(i) for i in plan.items],
            weight_grams=plan.weight_grams,
            size_class=plan.size_class,
            cost=choice.cost.amount,
            currency=choice.cost.currency,
            ship_at=choice.ship_at,
            promised_by=promised,
            status=ParcelStatus.created.value,
            tracking=tracking.model_dump(mode="json"),
            customs=customs,
            created_at=now,
        )
        uow.session.add(row)
        made.append(row.id)
        uow.emit(
            Event(
                "parcel.created",
                f"parcel:{row.id}",
                {
                    "parcel_id": str(row.id),
                    "order_id": str(order.id),
                    "lane_id": choice.lane.id,
                    "ship_at": choice.ship_at.isoformat(),
                    "weight_grams": plan.weight_grams,
                },
                now,
            )
        )
        if not choice.keeps_promise:
            for item in plan.items:
                _at_risk(
                    uow,
                    promises.get(item.line_id),
                    f"even the fastest service delivers {choice.delivery_date}",
                    now,
                    choice.delivery_date,
                )
    return made


@dataclass(frozen=True)
class _Recipient:
    """What making a parcel reads of its order: whole orders (lines, promises, history) cost three statements
    and a domain object each, for four fields."""

    id: UUID
    merchant_id: str
    currency: str
    ship_to: Address


def _recipients(session: Session, order_ids: set[UUID]) -> dict[UUID, _Recipient]:
    rows = session.execute(
        select(OrderRow.id, OrderRow.merchant_id, OrderRow.currency, OrderRow.ship_to).where(OrderRow.id.in_(order_ids))
    )
    return {r.id: _Recipient(r.id, r.merchant_id, r.currency, Address.model_validate(r.ship_to)) for r in rows}


def _finished_line(
    uow: UnitOfWork,
    line: OrderLineRow,
    orders: dict[UUID, _Recipient],
    configurations: Configurations,
    factory_id: str,
    origin: str,
    now: datetime,
) -> FinishedLine:
    order = orders[line.order_id]
    template = uow.templates.get(line.template_key)
    config = configurations.of(line.template_key, line.options, line.quantity)
    assert template is not None and config is not None
    return FinishedLine(
        line.id,
        order.id,
        factory_id,
        order.ship_to,
        template.key,
        template.name,
        template.hs_code,
        origin,
        line.quantity,
        max(1, config.weight_grams or 1),
        line.unit_price,
        order.currency,
        template.packing,
        now,
    )


def _plain(value: Any) -> Any:
    """Dataclasses and pydantic models of the engines as JSON-ready dicts."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, UUID | datetime):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _at_risk(uow: UnitOfWork, promise: PromiseRow | None, reason: str, now: datetime, best: date | None) -> None:
    if promise is not None and promise.status == PromiseStatus.kept.value:
        mark_at_risk(uow, promise, reason, now, best)


def _parcel_for(uow: UnitOfWork, principal: Principal, parcel_id: UUID) -> ParcelRow:
    require_role(principal, {Role.operator, Role.factory}, "report on parcels")
    row = uow.session.get(ParcelRow, parcel_id, with_for_update=True)
    if row is None or (principal.role is Role.factory and principal.subject != row.factory_id):
        raise NotFound(f"parcel {parcel_id} not found")
    return row


def book_manual(
    platform: Platform,
    principal: Principal,
    parcel_id: UUID,
    carrier: str,
    tracking_number: str,
) -> dict[str, Any]:
    """The `manual` carrier: the factory says which carrier took the parcel and its tracking number."""
    with platform.uow() as uow:
        row = _parcel_for(uow, principal, parcel_id)
        row.carrier, row.service, row.tracking_number = carrier, "manual", tracking_number
        uow.commit()
        return parcel_view(row, platform.clock.now())


def record_event(platform: Platform, principal: Principal, parcel_id: UUID, event: TrackingEvent) -> dict[str, Any]:
    return record_scans(platform, principal, {parcel_id: [event]})[parcel_id]


def record_events(
    platform: Platform, principal: Principal, parcel_id: UUID, events: list[TrackingEvent]
) -> dict[str, Any]:
    """Several scans of one parcel, in the order given, in one transaction: what recording them one at a time
    would do, for a carrier poll that brings a parcel's scans of the last hours together."""
    return record_scans(platform, principal, {parcel_id: events})[parcel_id]


def record_scans(
    platform: Platform, principal: Principal, scans: Mapping[UUID, Sequence[TrackingEvent]]
) -> dict[UUID, dict[str, Any]]:
    """The scans of many parcels in one transaction, each parcel's in the order given: what a carrier's poll
    brings back at once. A transaction per parcel cost a lock, a read of its order and a commit each, thousands
    of times a day; here the parcels are locked in one statement (in id order, as every writer locks them), their
    orders read in one, and the orders moved and the promises closed once for all. A parcel the caller may not
    report on, or that does not exist, fails the whole call and nothing is written."""
    now = platform.clock.now()
    with platform.uow() as uow:
        rows = _parcels_for(uow, principal, list(scans))
        countries: dict[UUID, str] = {}
        statuses: dict[UUID, OrderStatus] = {}
        for chunk in in_chunks(row.order_id for row in rows.values()):
            query = select(OrderRow.id, OrderRow.ship_to, OrderRow.status).where(OrderRow.id.in_(chunk))
            for order_id, ship_to, status in uow.session.execute(query):
                countries[order_id], statuses[order_id] = ship_to["country"], OrderStatus(status)
        shipped: list[UUID] = []
        delivered: list[ParcelRow] = []
        held_late: list[tuple[UUID, date | None]] = []
        for parcel_id, events in scans.items():
            row = rows[parcel_id]
            state = TrackingState.model_validate(row.tracking)
            for event in events:
                before, state = state, apply(state, event)
                held = state.customs_holds > before.customs_holds and row.delivered_at is None  # not once closed
                if held and promise_broken(state, row.promised_by, countries[row.order_id]):
                    held_late += [(UUID(line_id), state.expected_delivery) for line_id in row.line_ids]
                if state.progress is not ParcelStatus.created and _behind(statuses[row.order_id], OrderStatus.shipped):
                    shipped.append(row.order_id)
                    statuses[row.order_id] = OrderStatus.shipped
                if state.status is ParcelStatus.delivered and row.delivered_at is None:
                    row.delivered_at = next(e.occurred_at for e in state.events if e.milestone.value == "delivered")
                    delivered.append(row)
                uow.emit(
                    Event(
                        f"parcel.{event.milestone.value}",
                        f"parcel:{parcel_id}",
                        {"parcel_id": str(parcel_id), "order_id": str(row.order_id), "status": state.status.value},
                        now,
                    )
                )
            row.tracking, row.status = state.model_dump(mode="json"), state.status.value
        promises = rows_by_key(uow.session, PromiseRow, PromiseRow.line_id, [line for line, _ in held_late])
        for line_id, best in held_late:  # one read for them all: a busy poll holds hundreds of parcels
            _at_risk(uow, promises.get(line_id), "held in customs past the promised date", now, best)
        _advance_orders(uow, shipped, OrderStatus.shipped, now)
        _close_promises(uow, delivered, countries, now)
        uow.commit()
        return {parcel_id: parcel_view(rows[parcel_id], now) for parcel_id in scans}


def _parcels_for(uow: UnitOfWork, principal: Principal, parcel_ids: list[UUID]) -> dict[UUID, ParcelRow]:
    """The parcels, locked; `NotFound` names those that do not exist or that a factory reports on for another."""
    require_role(principal, {Role.operator, Role.factory}, "report on parcels")
    rows = rows_by_key(uow.session, ParcelRow, ParcelRow.id, parcel_ids, for_update=True)
    unknown = [
        str(pid)
        for pid in parcel_ids
        if pid not in rows or (principal.role is Role.factory and principal.subject != rows[pid].factory_id)
    ]
    if unknown:
        raise NotFound(f"parcel {', '.join(unknown)} not found")
    return rows


def _close_promises(uow: UnitOfWork, parcels: list[ParcelRow], countries: dict[UUID, str], now: datetime) -> None:
    """Close the promises of the delivered parcels' lines, kept or broken by the hours late in the buyer's zone,
    and deliver the orders whose every line is now in a delivered parcel."""
    if not parcels:
        return
    line_ids = [UUID(x) for parcel in parcels for x in parcel.line_ids]
    promises = rows_by_key(uow.session, PromiseRow, PromiseRow.line_id, line_ids)
    for parcel in parcels:
        assert parcel.delivered_at is not None
        zone = ZoneInfo(DESTINATION_ZONES.get(countries[parcel.order_id], FALLBACK_ZONE))
        for line_id in parcel.line_ids:
            promise = promises.get(UUID(line_id))
            if promise is None or promise.delivered_at is not None:
                continue
            deadline = datetime.combine(promise.delivery_by + timedelta(days=1), time(0), tzinfo=zone)
            late = max(0.0, (parcel.delivered_at - deadline).total_seconds() / 3600)
            promise.delivered_at, promise.late_hours, promise.updated_at = parcel.delivered_at, round(late, 2), now
            promise.status = (PromiseStatus.broken if late > 0 else PromiseStatus.delivered).value
            kind = "promise.broken" if late > 0 else "promise.kept"
            uow.emit(Event(kind, f"line:{line_id}", {"line_id": line_id, "late_hours": round(late, 2)}, now))
    lines_of: dict[UUID, set[str]] = {parcel.order_id: set() for parcel in parcels}
    for chunk in in_chunks(lines_of):
        for order_id, line_id in uow.session.execute(
            select(OrderLineRow.order_id, OrderLineRow.id).where(OrderLineRow.order_id.in_(chunk))
        ):
            lines_of[order_id].add(str(line_id))
        for order_id, lines, delivered_at in uow.session.execute(
            select(ParcelRow.order_id, ParcelRow.line_ids, ParcelRow.delivered_at).where(ParcelRow.order_id.in_(chunk))
        ):
            if delivered_at is not None:
                lines_of[order_id] -= set(lines)
    _advance_orders(uow, [order_id for order_id, left in lines_of.items() if not left], OrderStatus.delivered, now)


_PATH = [OrderStatus.in_production, OrderStatus.produced, OrderStatus.shipped, OrderStatus.delivered]


def _behind(status: OrderStatus, target: OrderStatus) -> bool:
    """Whether `_advance_orders` would move an order in `status` towards `target`: orders only move forward,
    so an order seen at or past the target needs neither the lock nor the read of its lines."""
    return status in _PATH and _PATH.index(status) < _PATH.index(target)


def _advance_orders(uow: UnitOfWork, order_ids: list[UUID], target: OrderStatus, now: datetime) -> None:
    """Walk the orders forward to `target`; the first parcel on its way moves the whole order (a coarse status)."""
    if order_ids:
        uow.orders.move_forward(order_ids, target, now, only_from=[s for s in _PATH if _behind(s, target)])


def parcel_view(row: ParcelRow, now: datetime) -> dict[str, Any]:
    state = TrackingState.model_validate(row.tracking)
    return {
        "id": str(row.id),
        "order_id": str(row.order_id),
        "status": row.status,
        "lane_id": row.lane_id,
        "carrier": row.carrier,
        "service": row.service,
        "tracking_number": row.tracking_number,
        "weight_grams": row.weight_grams,
        "size_class": row.size_class,
        "shipping_cost": {"amount": row.cost, "currency": row.currency},
        "ship_at": row.ship_at.isoformat(),
        "promised_by": row.promised_by.isoformat(),
        "expected_delivery": state.expected_delivery.isoformat() if state.expected_delivery else None,
        "missed_scan": missed_scan(state, now),
        "line_ids": row.line_ids,
        "customs": row.customs,
        "events": [e.model_dump(mode="json") for e in state.events],
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
    }


def order_tracking(platform: Platform, principal: Principal, order_id: UUID) -> dict[str, Any]:
    with platform.uow() as uow:
        order = uow.orders.get(order_id)
        if order is None:
            require_role(principal, {Role.operator, Role.merchant}, "track orders")
            raise NotFound(f"order {order_id} not found")
        require_merchant_access(principal, order.merchant_id, f"order {order_id}")
        now = platform.clock.now()
        parcels = [
            parcel_view(p, now)
            for p in uow.session.scalars(
                select(ParcelRow).where(ParcelRow.order_id == order_id).order_by(ParcelRow.created_at, ParcelRow.key)
            )
        ]
    return {"order_id": str(order_id), "status": order.status.value, "parcels": parcels}


def factory_parcels(platform: Platform, principal: Principal, factory_id: str) -> list[dict[str, Any]]:
    require_factory_access(principal, factory_id)
    now = platform.clock.now()
    with platform.uow() as uow:
        rows = uow.session.scalars(
            select(ParcelRow).where(ParcelRow.factory_id == factory_id).order_by(ParcelRow.ship_at, ParcelRow.key)
        )
        return [parcel_view(p, now) for p in rows]
