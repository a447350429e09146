"""Work orders: what a factory is told to make, lot by lot, and how the floor reports on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from meshfab.domain.errors import IllegalTransition


class WorkOrderStatus(StrEnum):
    """A lot is released to the floor, started, finished; `replacement` is scrap waiting to be scheduled."""

    released = "released"
    started = "started"
    finished = "finished"
    cancelled = "cancelled"
    replacement = "replacement"


OPEN_STATUSES = (WorkOrderStatus.released, WorkOrderStatus.started, WorkOrderStatus.replacement)
"""A lot in one of these is still to be made."""


class Progress(StrEnum):
    start = "start"
    finish = "finish"
    scrap = "scrap"


_NEXT = {
    (WorkOrderStatus.released, Progress.start): WorkOrderStatus.started,
    (WorkOrderStatus.started, Progress.finish): WorkOrderStatus.finished,
    (WorkOrderStatus.started, Progress.scrap): WorkOrderStatus.started,
    (WorkOrderStatus.finished, Progress.scrap): WorkOrderStatus.finished,
}


def progress_to(status: WorkOrderStatus, event: Progress) -> WorkOrderStatus:
    """The status after a shop-floor report; scrap is reported on work that has started."""
    target = _NEXT.get((status, event))
    if target is None:
        raise IllegalTransition(f"a {status} work order cannot take '{event}'")
    return target


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
    lot_id: str = ""
