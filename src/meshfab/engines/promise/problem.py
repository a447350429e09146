"""Plain data of a quote: what a configured line needs, what the buyer asks, and what the engine answers.

The configurator turns a configuration into :class:`OperationNeed` rows; the promise engine never sees
templates or options, only capabilities, setup families and minutes. Money is integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

RefusalReason = Literal["no_capable_factory", "capacity_exhausted", "country_not_served"]


@dataclass(frozen=True)
class OperationNeed:
    """One step of a line. Equal ``sequence`` numbers may run side by side; a higher one waits for lower ones."""

    capability: str
    setup_family: str
    setup_minutes: int
    run_minutes_per_unit: float
    sequence: int

    def __post_init__(self) -> None:
        if self.setup_minutes < 0 or self.run_minutes_per_unit < 0:
            raise ValueError("setup and run minutes are non-negative")


@dataclass(frozen=True)
class QuoteRequest:
    operations: tuple[OperationNeed, ...]
    quantity: int
    destination_country: str
    parcel_grams: tuple[int, ...]
    """the weights of the parcels the line fills when it ships alone (`parcels.parcel_weights`), priced per parcel"""
    now: datetime
    unit_price: int
    currency: str
    horizon_days: int = 60
    handover_margin_minutes: int = 0
    """A line ships at a cutoff only if it is ready this long before it: the floor's queues, breakdowns and slow
    runs then delay a hand-over without breaking the promise."""

    def __post_init__(self) -> None:
        if not self.operations:
            raise ValueError("a line needs at least one operation")
        if self.quantity < 1 or self.unit_price < 0 or self.horizon_days < 1:
            raise ValueError("quantity ≥ 1, horizon ≥ 1 day, unit price ≥ 0")
        if not self.parcel_grams or min(self.parcel_grams) < 1:
            raise ValueError("a line ships in at least one parcel, each weighing at least 1 g")
        if not 0 <= self.handover_margin_minutes < 1440:
            raise ValueError("the hand-over margin is at least 0 and less than a day")
        if self.now.tzinfo is None or self.now.utcoffset() != UTC.utcoffset(None):
            raise ValueError("now must be an aware UTC datetime")
        object.__setattr__(self, "operations", tuple(self.operations))
        object.__setattr__(self, "parcel_grams", tuple(self.parcel_grams))


@dataclass(frozen=True)
class Reservation:
    """Minutes held in one bucket (factory × capability × the factory's local day) for one operation.

    ``setup_minutes`` is the part of ``minutes`` that is changeover (charged on an operation's first day only);
    ``setup_saved`` is the setup not charged because the family already had a lot in that bucket: if that lot
    goes away before the order is placed, the plan is stale (see ``check``).
    """

    factory_id: str
    capability: str
    day: date
    minutes: int
    setup_family: str
    setup_minutes: int = 0
    setup_saved: int = 0


@dataclass(frozen=True)
class Offer:
    """One way to make and ship the line. ``factory_id`` is for the platform; merchants see ``region`` only."""

    factory_id: str
    region: str
    lane_id: str
    reservations: tuple[Reservation, ...]
    ready_at: datetime
    ship_at: datetime
    delivery_by: date
    production_cost: int
    shipping_cost: int
    price: int
    currency: str
    quoted_at: datetime
    labels: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Refusal:
    reason: RefusalReason
    detail: str
