"""Factories, lanes and work orders as the operator and the factories themselves see them."""

from __future__ import annotations

from meshfab.domain.errors import NotFound
from meshfab.domain.events import Event
from meshfab.domain.factories import Factory, FactoryStatus
from meshfab.domain.lanes import Lane
from meshfab.domain.principals import Principal, Role
from meshfab.domain.work import WorkOrder
from meshfab.services.access import require_factory_access, require_operator, require_role
from meshfab.services.platform import Platform


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
        uow.commit()
    return factory


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
