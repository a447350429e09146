"""Flagging a promise at risk: one row change and one event, the same wherever the risk is found.

The floor (a late schedule), the network planner (no plan keeps the date), a factory closing a day and a
parcel's carrier (a late lane or a customs hold) all find risks; subscribers see one event shape from all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from meshfab.domain.events import Event
from meshfab.domain.orders import PromiseStatus
from meshfab.store.tables import PromiseRow
from meshfab.store.uow import UnitOfWork


class Judged(Protocol):
    """A promise as a risk finder holds it: a stored row, or the plain values a planner reads in bulk."""

    line_id: UUID
    order_id: UUID
    delivery_by: date
    status: str
    risk: str | None
    risk_best_by: date | None
    updated_at: datetime


def mark_at_risk(
    uow: UnitOfWork, promise: PromiseRow | Judged, reason: str, now: datetime, best: date | None = None
) -> None:
    """Set `promise` at risk with `reason` and emit `promise.at_risk` (with the new best date when known)."""
    promise.status, promise.risk, promise.updated_at = PromiseStatus.at_risk.value, reason, now
    promise.risk_best_by = best
    uow.emit(
        Event(
            "promise.at_risk",
            f"line:{promise.line_id}",
            {
                "order_id": str(promise.order_id),
                "line_id": str(promise.line_id),
                "delivery_by": promise.delivery_by.isoformat(),
                "new_best_date": best.isoformat() if best else None,
                "reason": reason,
            },
            now,
        )
    )


def is_news(promise: PromiseRow | Judged, best: date | None) -> bool:
    """Whether flagging `promise` with the best date `best` tells its buyer something new: the promise was not at
    risk, or the best date is later than the one last told, or there is no date any more.

    A planner judges every open promise on every cycle, and the best date of a late line wanders by a day
    either way as other lines come and go; an event for each wobble would be noise (thousands a day on the
    twin's busiest month). A date that got better but still misses is kept on the row without an event."""
    if promise.status != PromiseStatus.at_risk.value:
        return True
    told = promise.risk_best_by
    if best is None:
        return told is not None
    return told is None or best > told
