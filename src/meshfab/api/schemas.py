"""Request and response bodies. Inputs forbid unknown fields (no mass assignment); outputs are their own
classes, so what a client may send and what it is shown never drift together by accident."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meshfab.domain.factories import Factory, FactoryStatus
from meshfab.domain.geo import Address
from meshfab.domain.lanes import Lane
from meshfab.domain.merchants import Buyer, Channel
from meshfab.domain.orders import Order
from meshfab.domain.work import WorkOrder
from meshfab.services.catalog import SavedTemplate


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineIn(Input):
    """A line is either an `offer_id` from a quote, or a configuration quoted on the spot (fastest offer)."""

    offer_id: UUID | None = None
    template: str | None = Field(default=None, min_length=1, max_length=63)
    options: dict[str, Any] = Field(default_factory=dict, max_length=200)
    quantity: int | None = Field(default=None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _one_way(self) -> LineIn:
        if self.offer_id is not None and (self.template is not None or self.options or self.quantity is not None):
            raise ValueError("give either offer_id, or template, options and quantity")
        if self.offer_id is None and (self.template is None or self.quantity is None):
            raise ValueError("give template and quantity (or an offer_id)")
        return self


class QuoteIn(Input):
    template: str = Field(min_length=1, max_length=63)
    options: dict[str, Any] = Field(default_factory=dict, max_length=200)
    quantity: int = Field(ge=1, le=100_000)
    ship_to: Address


class MoneyOut(BaseModel):
    amount: int
    currency: str


class OfferOut(BaseModel):
    offer_id: UUID
    labels: list[str]
    delivery_by: date
    ship_at: datetime
    region: str
    price: MoneyOut
    product_price: MoneyOut
    shipping_price: MoneyOut
    expires_at: datetime
    factory_id: str | None = Field(default=None, description="operator only", exclude_if=lambda v: v is None)
    lane_id: str | None = Field(default=None, description="operator only")
    production_cost: int | None = Field(default=None, description="operator only")


class QuoteOut(BaseModel):
    offers: list[OfferOut]


class ClosureIn(Input):
    day: date


class OrderIn(Input):
    merchant_id: str | None = Field(default=None, max_length=63, description="operator only")
    channel: Channel | None = None
    buyer: Buyer
    ship_to: Address
    lines: list[LineIn] = Field(min_length=1, max_length=100)


class StatusIn(Input):
    status: FactoryStatus


class ConfigureIn(Input):
    options: dict[str, Any] = Field(default_factory=dict, max_length=200)
    quantity: int = Field(default=1, ge=1, le=100_000)


class PromiseOut(BaseModel):
    delivery_by: date
    ship_at: datetime
    status: str
    region: str
    factory_id: str | None = Field(default=None, description="operator only", exclude_if=lambda v: v is None)


class LineOut(BaseModel):
    id: UUID
    line_no: int
    template: str
    options: dict[str, Any]
    quantity: int
    unit_price: int
    promise: PromiseOut | None = None


class OrderOut(BaseModel):
    id: UUID
    merchant_id: str
    channel: Channel
    status: str
    buyer: Buyer
    ship_to: Address
    currency: str
    total: int
    lines: list[LineOut]
    created_at: datetime
    updated_at: datetime | None
    history: list[dict[str, Any]]

    @classmethod
    def of(cls, order: Order, *, reveal_factory: bool = False) -> OrderOut:
        """Merchants see where a line is made only as a region; the operator sees the factory."""
        return cls(
            id=order.id,
            merchant_id=order.merchant_id,
            channel=order.channel,
            status=order.status.value,
            buyer=order.buyer,
            ship_to=order.ship_to,
            currency=order.currency,
            total=order.total,
            lines=[
                LineOut(
                    id=line.id,
                    line_no=line.line_no,
                    template=line.template_key,
                    options=line.options,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    promise=None
                    if line.promise is None
                    else PromiseOut(
                        delivery_by=line.promise.delivery_by,
                        ship_at=line.promise.ship_at,
                        status=line.promise.status.value,
                        region=line.promise.region,
                        factory_id=line.promise.factory_id if reveal_factory else None,
                    ),
                )
                for line in order.lines
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            history=[{"status": s.value, "at": t} for s, t in order.history],
        )


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class WorkcenterOut(BaseModel):
    capability: str
    count: int
    efficiency: float
    promise_share: float


class FactoryOut(BaseModel):
    id: str
    name: str
    region: str
    country: str
    timezone: str
    lat: float
    lon: float
    status: FactoryStatus
    trust_score: float
    currency: str
    min_lot: int
    max_lot: int
    workcenters: list[WorkcenterOut]
    cost_per_minute: dict[str, int]
    calendar: dict[str, Any]

    @classmethod
    def of(cls, f: Factory) -> FactoryOut:
        return cls(
            id=f.id,
            name=f.name,
            region=f.location.region,
            country=f.location.country,
            timezone=f.location.timezone,
            lat=f.location.lat,
            lon=f.location.lon,
            status=f.status,
            trust_score=f.trust_score,
            currency=f.currency,
            min_lot=f.min_lot,
            max_lot=f.max_lot,
            workcenters=[WorkcenterOut(**w.model_dump()) for w in f.workcenters],
            cost_per_minute=dict(f.cost_per_minute),
            calendar=f.calendar.model_dump(mode="json"),
        )


class LaneOut(BaseModel):
    id: str
    origin_region: str
    destination_country: str
    carrier: str
    service: str
    transit_hours_p50: int
    transit_hours_p95: int
    cutoff: time
    currency: str
    cost_per_parcel: int
    cost_per_kg: int
    customs_days: int
    learned_extra_hours: int = Field(description="what the parcels' record adds to p95 and customs days")

    @classmethod
    def of(cls, lane: Lane) -> LaneOut:
        return cls(**lane.model_dump())


class WorkOrderOut(BaseModel):
    id: UUID
    factory_id: str
    capability: str
    setup_family: str
    line_ids: list[UUID]
    quantity: int
    due_at: datetime
    status: str
    scrap: int
    lot_id: str

    @classmethod
    def of(cls, w: WorkOrder) -> WorkOrderOut:
        return cls(**{**w.__dict__, "status": w.status.value})


class Created(BaseModel):
    id: str
    created: bool


class TemplateSaved(Created):
    warnings: list[str]

    @classmethod
    def of(cls, saved: SavedTemplate) -> TemplateSaved:
        return cls(id=saved.key, created=saved.created, warnings=saved.warnings)
