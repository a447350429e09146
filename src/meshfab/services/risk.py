"""Flagging a promise at risk: one row change and one event, the same wherever the risk is found.

The floor (a late schedule), the network planner (no plan keeps the date), a factory closing a day and a
parcel's carrier (a late lane or a customs hold) all find risks; subscribers see one event shape from all.
"""

from __future__ import annotations

from datetime import date, datetime

from meshfab.domain.events import Event
from meshfab.domain.orders import PromiseStatus
from meshfab.store.tables import PromiseRow
from meshfab.store.uow import UnitOfWork


def mark_at_risk(uow: UnitOfWork, promise: PromiseRow, reason: str, now: datetime, best: date | None = None) -> None:
    """Set `promise` at risk with `reason` and emit `promise.at_risk` (with the new best date when known)."""
    promise.status, promise.risk, promise.updated_at = PromiseStatus.at_risk.value, reason, now
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
