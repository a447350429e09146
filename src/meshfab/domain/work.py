"""Work orders and parcels: what a factory is told to make and what leaves its door."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from uuid import UUID


class WorkOrderStatus(StrEnum):
    released = "released"
    started = "started"
    finished = "finished"
    cancelled = "cancelled"


@dataclass
class WorkOrder:
    """A lot released to one factory: one setup family, the lines it makes and when it is due."""

    id: UUID
    factory_id: str
    capability: str
    setup_family: str
    line_ids: list[UUID]
    quantity: int
    due_at: datetime
    status: WorkOrderStatus = WorkOrderStatus.released
    scrap: int = 0


class ParcelStatus(StrEnum):
    created = "created"
    handed_over = "handed_over"
    in_transit = "in_transit"
    customs_hold = "customs_hold"
    customs_cleared = "customs_cleared"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    exception = "exception"


@dataclass
class Parcel:
    id: UUID
    order_id: UUID
    factory_id: str
    lane_id: str
    line_ids: list[UUID]
    weight_grams: int
    status: ParcelStatus = ParcelStatus.created
    tracking_number: str | None = None
    events: list[tuple[ParcelStatus, datetime]] = field(default_factory=list)
