"""Tables of the system of record (SQLAlchemy 2 typed mapping).

Rows are not domain objects: repositories translate, so the domain stays free of persistence concerns and
the tables can be tuned (indexes, JSONB documents, partitions) without touching the business rules.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONB, list[Any]: JSONB, datetime: DateTime(timezone=True)}


def _now() -> Any:
    return func.now()


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    principal: Mapped[str] = mapped_column(String(80), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=_now())
    revoked_at: Mapped[datetime | None]


class TemplateRow(Base):
    __tablename__ = "templates"
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    document: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(server_default=_now())


class FactoryRow(Base):
    __tablename__ = "factories"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(63), index=True)
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), index=True)
    trust_score: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    min_lot: Mapped[int] = mapped_column(Integer)
    max_lot: Mapped[int] = mapped_column(Integer)
    workcenters: Mapped[list[Any]]
    calendar: Mapped[dict[str, Any]]
    cost_per_minute: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(server_default=_now())


class LaneRow(Base):
    __tablename__ = "lanes"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    origin_region: Mapped[str] = mapped_column(String(63))
    destination_country: Mapped[str] = mapped_column(String(2))
    carrier: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(100))
    transit_hours_p50: Mapped[int] = mapped_column(Integer)
    transit_hours_p95: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[time] = mapped_column(Time)
    currency: Mapped[str] = mapped_column(String(3))
    cost_per_parcel: Mapped[int] = mapped_column(Integer)
    cost_per_kg: Mapped[int] = mapped_column(Integer)
    customs_days: Mapped[int] = mapped_column(Integer)
    learned_extra_hours: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = (Index("ix_lanes_route", "origin_region", "destination_country"),)


class MerchantRow(Base):
    __tablename__ = "merchants"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    incoterm: Mapped[str] = mapped_column(String(3))


class OrderRow(Base):
    __tablename__ = "orders"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    buyer: Mapped[dict[str, Any]]
    ship_to: Mapped[dict[str, Any]]
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(BigInteger)
    history: Mapped[list[Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    __table_args__ = (Index("ix_orders_page", "merchant_id", "created_at", "id"),)


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    template_key: Mapped[str] = mapped_column(ForeignKey("templates.key"))
    options: Mapped[dict[str, Any]]
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    factory_id: Mapped[str | None] = mapped_column(ForeignKey("factories.id"), index=True)
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)


class BucketRow(Base):
    __tablename__ = "capacity_buckets"
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), primary_key=True)
    capability: Mapped[str] = mapped_column(String(63), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class ReservationRow(Base):
    __tablename__ = "reservations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"))
    capability: Mapped[str] = mapped_column(String(63))
    day: Mapped[date] = mapped_column(Date)
    minutes: Mapped[int] = mapped_column(Integer)
    setup_family: Mapped[str] = mapped_column(String(200), server_default="")
    setup_minutes: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (Index("ix_reservations_bucket", "factory_id", "capability", "day"),)


class OfferRow(Base):
    """An offer made at quote time: the plan behind a delivery date, valid until it expires or is used."""

    __tablename__ = "offers"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(80), index=True)
    template_key: Mapped[str] = mapped_column(ForeignKey("templates.key"))
    options: Mapped[dict[str, Any]]
    quantity: Mapped[int] = mapped_column(Integer)
    destination_country: Mapped[str] = mapped_column(String(2))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    plan: Mapped[dict[str, Any]]
    delivery_by: Mapped[date] = mapped_column(Date)
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("order_lines.id", ondelete="SET NULL"))


class PromiseRow(Base):
    """The delivery date accepted with an order line and the plan that keeps it."""

    __tablename__ = "promises"
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), index=True)
    lane_id: Mapped[str] = mapped_column(ForeignKey("lanes.id"))
    ready_at: Mapped[datetime]
    ship_at: Mapped[datetime]
    delivery_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    risk: Mapped[str | None] = mapped_column(String(500))
    risk_best_by: Mapped[date | None] = mapped_column(Date)
    """the best delivery date told with the last `promise.at_risk`, if one was known"""
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    late_hours: Mapped[float | None] = mapped_column(Float)


OPEN_WORK = "('released', 'started', 'replacement')"
"""The statuses of a lot still to be made (`domain.work.OPEN_STATUSES`), spelt out: the partial index on them is
schema, and changes only through a migration."""


class WorkOrderRow(Base):
    __tablename__ = "work_orders"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), index=True)
    capability: Mapped[str] = mapped_column(String(63))
    setup_family: Mapped[str] = mapped_column(String(200))
    line_ids: Mapped[list[Any]]
    quantity: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    scrap: Mapped[int] = mapped_column(Integer, default=0)
    lot_id: Mapped[str] = mapped_column(String(200), server_default="")
    operations: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    released_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    parcelled_at: Mapped[datetime | None]
    """when every line of this finished lot was in a parcel: from then on, making parcels no longer reads it"""
    __table_args__ = (  # a factory keeps every lot it ever made: the hot reads must not grow with that history
        Index("ix_work_orders_open", "factory_id", "status", postgresql_where=text(f"status IN {OPEN_WORK}")),
        Index(
            "ix_work_orders_unparcelled",
            "factory_id",
            postgresql_where=text("status = 'finished' AND parcelled_at IS NULL"),
        ),
        Index("ix_work_orders_finished", "factory_id", "finished_at", postgresql_where=text("status = 'finished'")),
    )


class ParcelRow(Base):
    """One box (or a few) from one factory to one address, with its lane, customs data and tracking."""

    __tablename__ = "parcels"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), index=True)
    lane_id: Mapped[str] = mapped_column(ForeignKey("lanes.id"))
    line_ids: Mapped[list[Any]]
    items: Mapped[list[Any]]
    weight_grams: Mapped[int] = mapped_column(Integer)
    size_class: Mapped[str] = mapped_column(String(16))
    cost: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ship_at: Mapped[datetime]
    promised_by: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(24), index=True)
    carrier: Mapped[str | None] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    tracking: Mapped[dict[str, Any]]
    customs: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class OutboxRow(Base):
    """Transactional outbox: written with the change, relayed afterwards (at least once)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    published_at: Mapped[datetime | None]


class IdempotencyRow(Base):
    """First response to a keyed POST, scoped to the caller, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    __table_args__ = (Index("ix_idempotency_created", "created_at"),)


class PlanningRunRow(Base):
    """One network re-plan: what it saw, what it changed and how good it proved the result to be."""

    __tablename__ = "planning_runs"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    trigger: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    seconds: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(32))
    lines: Mapped[int] = mapped_column(Integer)
    factories: Mapped[int] = mapped_column(Integer)
    buckets: Mapped[int] = mapped_column(Integer)
    cost_before: Mapped[dict[str, Any]]
    cost_after: Mapped[dict[str, Any]]
    objective: Mapped[float] = mapped_column(Float)
    lower_bound: Mapped[float] = mapped_column(Float)
    gap: Mapped[float] = mapped_column(Float)
    moved: Mapped[list[Any]]
    unassigned: Mapped[list[Any]]
    skipped: Mapped[list[Any]]
    at_risk: Mapped[list[Any]]


class ScheduleRow(Base):
    """A factory's current schedule: per-workcenter timelines in UTC and each line's lateness."""

    __tablename__ = "factory_schedules"
    factory_id: Mapped[str] = mapped_column(ForeignKey("factories.id"), primary_key=True)
    computed_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    objective: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    bound: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    timeline: Mapped[list[Any]]
    lines: Mapped[list[Any]]
    seconds: Mapped[float] = mapped_column(Float)
    waiting_lines: Mapped[int] = mapped_column(Integer, server_default="0")
    """open lines beyond the release window, left for a later schedule"""


class WebhookEndpointRow(Base):
    """Where a principal wants its events pushed (Standard Webhooks), and the secret that signs them."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(80), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    event_types: Mapped[list[Any]]
    allow_private: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class WebhookDeliveryRow(Base):
    """One event to one endpoint: attempts, the next try, and how it ended."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    __table_args__ = (
        UniqueConstraint("endpoint_id", "outbox_id"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
