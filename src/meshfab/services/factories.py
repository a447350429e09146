"""Factories, lanes and work orders as the operator and the factories themselves see them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from meshfab.domain.errors import InvalidInput, NotFound, Problem
from meshfab.domain.events import Event
from meshfab.domain.factories import Factory, FactoryStatus
from meshfab.domain.lanes import Lane
from meshfab.domain.orders import PromiseStatus
from meshfab.domain.principals import Principal, Role
from meshfab.domain.work import WorkOrder
from meshfab.services.access import require_factory_access, require_operator, require_role
from meshfab.services.platform import Platform
from meshfab.services.risk import mark_at_risk
from meshfab.store.capacity import lock_buckets
from meshfab.store.tables import BucketRow, PromiseRow, ReservationRow
from meshfab.store.uow import UnitOfWork


def list_factories(platform: Platform, principal: Principal) -> list[Factory]:
    require_role(principal, {Role.operator, Role.factory}, "list factories")
    with platform.uow() as uow:
        factories = uow.factories.list()
    if principal.role is Role.factory:
        return [f for f in factories if f.id == principal.subject]
    return factories


def get_factory(platform: Platform, principal: Principal, factory_id: str) -> Factory:
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        factory = uow.factories.get(factory_id)
    if factory is None:
        raise NotFound(f"factory {factory_id!r} not found")
    return factory


def put_factory(platform: Platform, principal: Principal, factory: Factory) -> bool:
    require_operator(principal, "manage factories")
    with platform.uow() as uow:
        created = uow.factories.put(factory)
        uow.commit()
    return created


def set_status(platform: Platform, principal: Principal, factory_id: str, status: FactoryStatus) -> Factory:
    """A factory pauses or goes dark itself (or the operator does it); the event lets planning react."""
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        factory = uow.factories.get(factory_id, for_update=True)
        if factory is None:
            raise NotFound(f"factory {factory_id!r} not found")
        previous = factory.status
        factory = factory.model_copy(update={"status": status})
        uow.factories.put(factory)
        if previous is not status:
            now = platform.clock.now()
            uow.emit(
                Event(
                    "factory.status_changed",
                    f"factory:{factory_id}",
                    {"factory_id": factory_id, "from": previous.value, "to": status.value},
                    now,
                )
            )
            if status is FactoryStatus.dark:
                flag_at_risk(uow, factory_id, now, "the factory went dark")
        uow.commit()
    platform.capacity.invalidate()
    if previous is not status and status is not FactoryStatus.active:
        platform.on_change(f"factory-{status.value}")
    elif previous is not status:
        platform.on_new_work(factory_id, False)  # back at work: its schedule was made for a factory that stood still
    return factory


def close_day(platform: Platform, principal: Principal, factory_id: str, day: date) -> int:
    """Close a local day (a holiday): its buckets drop to zero and the promises planned on it are at risk.

    Returns how many promises were flagged. The reservations stay until the network planner moves them,
    so nothing is lost and the planner sees exactly what must be repaired.
    """
    require_factory_access(principal, factory_id)
    now = platform.clock.now()
    with platform.uow() as uow:
        factory = uow.factories.get(factory_id, for_update=True)
        if factory is None:
            raise NotFound(f"factory {factory_id!r} not found")
        if day < factory.local_day(now):
            raise InvalidInput("the day is past", [Problem(("body", "day"), "close today or a later local day")])
        if day not in factory.calendar.holidays:
            calendar = factory.calendar.model_copy(update={"holidays": sorted([*factory.calendar.holidays, day])})
            uow.factories.put(factory.model_copy(update={"calendar": calendar}))
        lock_buckets(uow.session, {factory_id: factory}, [(factory_id, w.capability, day) for w in factory.workcenters])
        for bucket in uow.session.scalars(
            select(BucketRow).where(BucketRow.factory_id == factory_id, BucketRow.day == day)
        ):
            bucket.available = 0
        flagged = flag_at_risk(uow, factory_id, now, f"the factory closed {day.isoformat()}", day=day)
        uow.emit(
            Event(
                "factory.day_closed", f"factory:{factory_id}", {"factory_id": factory_id, "day": day.isoformat()}, now
            )
        )
        uow.commit()
    platform.capacity.invalidate()
    if flagged:
        platform.on_change("day-closed")
    return flagged


def flag_at_risk(uow: UnitOfWork, factory_id: str, now: datetime, reason: str, *, day: date | None = None) -> int:
    """Mark kept promises of a factory (optionally only those with work on `day`) at risk, with an event each."""
    query = select(PromiseRow).where(PromiseRow.factory_id == factory_id, PromiseRow.status == PromiseStatus.kept.value)
    if day is not None:
        query = query.where(
            PromiseRow.line_id.in_(
                select(ReservationRow.line_id).where(ReservationRow.factory_id == factory_id, ReservationRow.day == day)
            )
        )
    flagged = 0
    for promise in uow.session.scalars(query.order_by(PromiseRow.line_id).with_for_update()):
        mark_at_risk(uow, promise, reason, now)
        flagged += 1
    return flagged


def list_lanes(platform: Platform, destination_country: str | None = None) -> list[Lane]:
    with platform.uow() as uow:
        return uow.lanes.list(destination_country=destination_country)


def put_lane(platform: Platform, principal: Principal, lane: Lane) -> bool:
    require_operator(principal, "manage lanes")
    with platform.uow() as uow:
        created = uow.lanes.put(lane)
        uow.commit()
    return created


def work_orders(platform: Platform, principal: Principal, factory_id: str) -> list[WorkOrder]:
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        if uow.factories.get(factory_id) is None:
            raise NotFound(f"factory {factory_id!r} not found")
        return uow.work_orders.for_factory(factory_id)
