"""Orders and their lifecycle.

The status is a state machine: placed → allocated → in_production → produced → shipped → delivered, and
cancelled from any state before shipped. Anything else is an `IllegalTransition`, never a silent write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from meshfab.domain.errors import IllegalTransition
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer, Channel


class OrderStatus(StrEnum):
    placed = "placed"
    allocated = "allocated"
    in_production = "in_production"
    produced = "produced"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class PromiseStatus(StrEnum):
    """A promise is kept until something threatens it; `at_risk` is raised before the date is missed."""

    kept = "kept"
    at_risk = "at_risk"
    broken = "broken"
    delivered = "delivered"
    cancelled = "cancelled"


_FORWARD: dict[OrderStatus, OrderStatus] = {
    OrderStatus.placed: OrderStatus.allocated,
    OrderStatus.allocated: OrderStatus.in_production,
    OrderStatus.in_production: OrderStatus.produced,
    OrderStatus.produced: OrderStatus.shipped,
    OrderStatus.shipped: OrderStatus.delivered,
}
_CANCELLABLE = frozenset({OrderStatus.placed, OrderStatus.allocated, OrderStatus.in_production, OrderStatus.produced})


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    if target is OrderStatus.cancelled:
        return current in _CANCELLABLE
    return _FORWARD.get(current) is target


def steps_to(current: OrderStatus, target: OrderStatus) -> list[OrderStatus]:
    """The statuses an order passes through moving forward from `current` to `target`, each a legal
    transition; none when `target` is not ahead of it (orders never move back)."""
    steps, status = [], current
    while status is not target:
        ahead = _FORWARD.get(status)
        if ahead is None:
            return []
        steps.append(status := ahead)
    return steps


@dataclass(frozen=True)
class LinePromise:
    """The date promised for a line, and where (as a region) it is being made."""

    delivery_by: date
    ship_at: datetime
    status: PromiseStatus
    region: str
    factory_id: str


@dataclass
class OrderLine:
    id: UUID
    line_no: int
    template_key: str
    options: dict[str, Any]
    quantity: int
    unit_price: int
    factory_id: str | None = None
    promise: LinePromise | None = None


@dataclass
class Order:
    id: UUID
    merchant_id: str
    channel: Channel
    buyer: Buyer
    ship_to: Address
    currency: str
    lines: list[OrderLine]
    created_at: datetime
    status: OrderStatus = OrderStatus.placed
    updated_at: datetime | None = None
    history: list[tuple[OrderStatus, datetime]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(line.unit_price * line.quantity for line in self.lines)

    def advance_to(self, target: OrderStatus, at: datetime) -> None:
        if not can_transition(self.status, target):
            raise IllegalTransition(f"an order cannot go from {self.status} to {target}")
        self.status = target
        self.updated_at = at
        self.history.append((target, at))

    def cancel(self, at: datetime) -> None:
        self.advance_to(OrderStatus.cancelled, at)
