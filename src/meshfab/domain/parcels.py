"""Parcel tracking: carrier milestones and a state machine that survives scans arriving out of order.

Carriers report scans late, twice, and out of order (a hub uploads its handover scans hours after the
line-haul scan). The state is therefore a function of the *set* of scans seen, not of their arrival order:

* **Progress** is the furthest milestone on the forward path ``handed_over < in_transit < customs_hold <
  customs_cleared < out_for_delivery < delivered``. An earlier milestone arriving late is recorded in the
  history (sorted by ``occurred_at``) but never moves the status backwards.
* **delivered** is terminal: once seen, the status stays ``delivered`` whatever arrives after it (a later
  exception, e.g. a damage claim, is recorded only).
* **exception** is a side state, not a step on the path: it is the status while the latest exception scan is
  at least as recent as the latest forward scan. A forward scan that occurred after it clears it (the carrier
  resumed); a late forward scan that occurred *before* it does not.
* **Duplicates** (same ``key``) are ignored: applying a scan twice returns the same state.
* **Customs holds** push the expected delivery to at least ``hold.occurred_at + customs_hold_hours``; a
  clearance never pulls it earlier (the promise errs on the late side).

``next_scan_deadline`` says by when the next scan is due after the latest one (``SCAN_WITHIN``);
``missed_scan`` is true once that moment has passed without a newer scan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class ParcelStatus(StrEnum):
    """The status of a parcel: ``created`` (booked, not yet scanned) and then the milestones."""

    created = "created"
    handed_over = "handed_over"
    in_transit = "in_transit"
    customs_hold = "customs_hold"
    customs_cleared = "customs_cleared"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    exception = "exception"


class Milestone(StrEnum):
    """What a carrier scan reports; carriers' own codes are mapped to these by the adapter."""

    handed_over = "handed_over"
    in_transit = "in_transit"
    customs_hold = "customs_hold"
    customs_cleared = "customs_cleared"
    out_for_delivery = "out_for_delivery"
    delivered = "delivered"
    exception = "exception"


RANK: dict[str, int] = {
    ParcelStatus.created: 0,
    ParcelStatus.handed_over: 1,
    ParcelStatus.in_transit: 2,
    ParcelStatus.customs_hold: 3,
    ParcelStatus.customs_cleared: 4,
    ParcelStatus.out_for_delivery: 5,
    ParcelStatus.delivered: 6,
}
"""Position on the forward path; ``exception`` has none (it is a side state)."""

SCAN_WITHIN: dict[ParcelStatus, timedelta] = {
    ParcelStatus.created: timedelta(hours=24),
    ParcelStatus.handed_over: timedelta(hours=24),
    ParcelStatus.in_transit: timedelta(hours=96),
    ParcelStatus.customs_hold: timedelta(hours=72),
    ParcelStatus.customs_cleared: timedelta(hours=72),
    ParcelStatus.out_for_delivery: timedelta(hours=24),
    ParcelStatus.exception: timedelta(hours=48),
}
"""How long after the latest scan the next one is due, by status (``created``: after the planned handover).

Line haul and air freight scan rarely, hence four days in transit; a courier out for delivery scans the
same day. ``delivered`` expects nothing more.
"""

CUSTOMS_HOLD_HOURS = 96
"""A hold typically lasts 2–4 days plus the last mile: the expected delivery is at least this after the hold."""


class TrackingEvent(BaseModel):
    """One scan, in aware UTC. ``event_id`` is the carrier's id when it has one (used to drop duplicates)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    milestone: Milestone
    occurred_at: AwareDatetime
    location: str = Field(default="", max_length=200)
    detail: str = Field(default="", max_length=500)
    event_id: str | None = Field(default=None, max_length=200)

    @property
    def key(self) -> tuple[str, ...]:
        if self.event_id:
            return ("id", self.event_id)
        return (self.milestone.value, self.occurred_at.isoformat(), self.location)


class TrackingState(BaseModel):
    """Everything known about one parcel's journey; ``apply`` returns a new state, this one is never changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    handover_due: AwareDatetime = Field(description="the planned handover (the lane's cutoff the parcel ships at)")
    expected_delivery: AwareDatetime | None = Field(default=None, description="p95 arrival instant, if known")
    customs_hold_hours: int = Field(default=CUSTOMS_HOLD_HOURS, ge=0)
    events: tuple[TrackingEvent, ...] = ()
    status: ParcelStatus = ParcelStatus.created
    progress: ParcelStatus = ParcelStatus.created
    last_scan_at: AwareDatetime | None = None
    customs_holds: int = 0

    @property
    def is_final(self) -> bool:
        return self.status is ParcelStatus.delivered


def start_tracking(handover_due: datetime, expected_delivery: datetime | None = None) -> TrackingState:
    """The state of a parcel just booked: nothing scanned yet."""
    return TrackingState(handover_due=handover_due, expected_delivery=expected_delivery)


def apply(state: TrackingState, event: TrackingEvent) -> TrackingState:
    """The state after one more scan, whatever order scans arrive in (see the module's rules)."""
    if any(seen.key == event.key for seen in state.events):
        return state
    events = tuple(sorted((*state.events, event), key=lambda e: (e.occurred_at, RANK.get(e.milestone, 99))))
    forward = [e for e in events if e.milestone is not Milestone.exception]
    exceptions = [e for e in events if e.milestone is Milestone.exception]
    progress = max((ParcelStatus(e.milestone.value) for e in forward), key=RANK.__getitem__, default=None)
    progress = progress or ParcelStatus.created
    status = progress
    if progress is not ParcelStatus.delivered and exceptions:
        latest_forward = max((e.occurred_at for e in forward), default=None)
        if latest_forward is None or exceptions[-1].occurred_at >= latest_forward:
            status = ParcelStatus.exception
    expected = state.expected_delivery
    if event.milestone is Milestone.customs_hold and expected is not None:
        expected = max(expected, event.occurred_at + timedelta(hours=state.customs_hold_hours))
    return state.model_copy(
        update={
            "events": events,
            "status": status,
            "progress": progress,
            "last_scan_at": events[-1].occurred_at,
            "customs_holds": sum(e.milestone is Milestone.customs_hold for e in events),
            "expected_delivery": expected,
        }
    )


def apply_all(state: TrackingState, events: list[TrackingEvent]) -> TrackingState:
    for event in events:
        state = apply(state, event)
    return state


def next_scan_deadline(state: TrackingState) -> datetime | None:
    """When the next scan is due: after the latest scan (or the planned handover) by ``SCAN_WITHIN``."""
    window = SCAN_WITHIN.get(state.status)
    if window is None:
        return None
    anchor = state.last_scan_at if state.last_scan_at is not None else state.handover_due
    return anchor + window


def missed_scan(state: TrackingState, now: datetime) -> bool:
    """True when the parcel should have been scanned again by ``now`` and was not (never for delivered)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC instant")
    deadline = next_scan_deadline(state)
    return deadline is not None and now > deadline
