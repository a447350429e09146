"""Carrier adapters: how a parcel is booked with a carrier and how its scans come back.

A real integration (a courier's REST API, an aggregator) implements ``Carrier``:

* ``book(parcel, lane, ship_at)`` buys the service and returns a ``Booking`` (carrier, service, tracking
  number). It must be idempotent on ``parcel.key``: a retry after a timeout returns the same booking, never a
  second label. It raises ``DomainError`` subclasses for refusals (``InvalidInput`` for data the carrier
  rejects), and lets transport errors propagate so the caller retries.
* ``events(booking, since, until)`` returns the scans the carrier *reported* in ``(since, until]``, mapped to
  ``Milestone`` (carrier codes outside the seven milestones are dropped or mapped to ``exception``), with
  aware UTC ``occurred_at`` and a stable ``event_id`` when the carrier has one. Scans may repeat and may be
  reported late (an earlier ``occurred_at`` after a later one): ``domain.parcels.apply`` tolerates both. A
  push (webhook) integration parses its payloads into the same ``TrackingEvent`` and never polls.
* ``cancel(booking, now)`` voids a label not yet handed over (a re-plan moved the parcel); a carrier that cannot
  raises ``Conflict``.

Adapters are pure here: no database, no network of their own in ``ManualCarrier`` and ``SimulatedCarrier``.
"""

from __future__ import annotations

import math
import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from meshfab.domain.errors import Conflict, InvalidInput
from meshfab.domain.lanes import Lane
from meshfab.domain.parcels import Milestone, TrackingEvent
from meshfab.engines.parcels import ParcelPlan

_TRACKING = re.compile(r"^[A-Za-z0-9-]{4,40}$")
Z95 = 1.6448536269514722
"""The 95th percentile of the standard normal: a lognormal with median p50 has p95 = p50 · exp(σ · Z95)."""


@dataclass(frozen=True)
class Booking:
    parcel_key: str
    lane_id: str
    carrier: str
    service: str
    tracking_number: str
    ship_at: datetime


class Carrier(Protocol):
    name: str

    def book(self, parcel: ParcelPlan, lane: Lane, ship_at: datetime) -> Booking: ...

    def events(self, booking: Booking, since: datetime | None, until: datetime) -> list[TrackingEvent]: ...

    def cancel(self, booking: Booking, now: datetime) -> None: ...


class ManualCarrier:
    """The factory ships with a carrier of its choice and types the carrier and tracking number in the portal.

    One instance per entry. It reports no scans of its own: the factory's (or a tracking aggregator's) scans
    reach the parcel through the portal or API as ``TrackingEvent``.
    """

    name = "manual"

    def __init__(self, carrier: str, tracking_number: str, service: str = "manual") -> None:
        if not carrier.strip() or len(carrier) > 100:
            raise InvalidInput("the carrier's name is required (at most 100 characters)")
        if not _TRACKING.match(tracking_number):
            raise InvalidInput("a tracking number has 4 to 40 letters, digits or dashes")
        self.carrier, self.tracking_number, self.service = carrier.strip(), tracking_number, service

    def book(self, parcel: ParcelPlan, lane: Lane, ship_at: datetime) -> Booking:
        return Booking(parcel.key, lane.id, self.carrier, self.service, self.tracking_number, ship_at)

    def events(self, booking: Booking, since: datetime | None, until: datetime) -> list[TrackingEvent]:
        return []

    def cancel(self, booking: Booking, now: datetime) -> None:
        """Nothing to void: the factory withdraws its label itself."""


@dataclass(frozen=True)
class _Reported:
    event: TrackingEvent
    reported_at: datetime


class SimulatedCarrier:
    """The digital twin's carrier: a journey drawn from the lane, the same for the same seed and parcel.

    Transit (handover to delivery, customs excluded) is lognormal with median ``transit_hours_p50`` and 95th
    percentile ``transit_hours_p95``, so about one parcel in twenty arrives after p95. A cross-border parcel
    spends ``customs_days`` in customs (uniform between half and all of it) and, with ``hold_probability``, a
    hold of 1–5 days on top; a parcel inside one customs union passes none when ``crosses_border`` is the
    platform's customs rule (the default treats every pair of countries as a border). With
    ``late_scan_probability`` a scan is reported hours after it occurred, so scans can come back out of order,
    as real ones do.
    """

    name = "simulated"

    def __init__(
        self,
        seed: int,
        *,
        hold_probability: float = 0.08,
        late_scan_probability: float = 0.1,
        crosses_border: Callable[[str, str], bool] = operator.ne,
    ) -> None:
        if not (0 <= hold_probability <= 1 and 0 <= late_scan_probability <= 1):
            raise ValueError("probabilities are between 0 and 1")
        self.seed, self.hold_probability, self.late_scan_probability = seed, hold_probability, late_scan_probability
        self.crosses_border = crosses_border
        self._journeys: dict[str, list[_Reported]] = {}
        self._bookings: dict[str, Booking] = {}

    def book(self, parcel: ParcelPlan, lane: Lane, ship_at: datetime) -> Booking:
        if parcel.key in self._bookings:
            return self._bookings[parcel.key]
        rng = random.Random(f"{self.seed}:{parcel.key}")
        number = f"SIM{rng.randrange(10**12):012d}"
        booking = Booking(parcel.key, lane.id, lane.carrier, lane.service, number, ship_at)
        cross_border = self.crosses_border(parcel.origin_country, parcel.destination_country)
        self._journeys[number] = self._journey(rng, lane, ship_at, cross_border, number)
        self._bookings[parcel.key] = booking
        return booking

    def events(self, booking: Booking, since: datetime | None, until: datetime) -> list[TrackingEvent]:
        journey = self._journeys.get(booking.tracking_number)
        if journey is None:
            raise InvalidInput(f"no simulated booking {booking.tracking_number}")
        found = [r for r in journey if (since is None or r.reported_at > since) and r.reported_at <= until]
        return [r.event for r in sorted(found, key=lambda r: (r.reported_at, r.event.occurred_at))]

    def cancel(self, booking: Booking, now: datetime) -> None:
        if now >= booking.ship_at:
            raise Conflict("the parcel was already handed over")
        self._journeys.pop(booking.tracking_number, None)
        self._bookings.pop(booking.parcel_key, None)

    def _journey(
        self, rng: random.Random, lane: Lane, ship_at: datetime, cross_border: bool, number: str
    ) -> list[_Reported]:
        sigma = math.log(lane.transit_hours_p95 / lane.transit_hours_p50) / Z95
        transit = timedelta(hours=rng.lognormvariate(math.log(lane.transit_hours_p50), sigma))
        first_scan = timedelta(hours=rng.uniform(1, 6))
        steps: list[tuple[Milestone, datetime]] = [(Milestone.handed_over, ship_at)]
        steps.append((Milestone.in_transit, ship_at + min(first_scan, transit * 0.2)))
        clock = ship_at + transit * 0.8
        if cross_border:
            customs = timedelta(days=lane.customs_days * rng.uniform(0.5, 1.0))
            if rng.random() < self.hold_probability:
                steps.append((Milestone.customs_hold, clock + timedelta(hours=rng.uniform(1, 6))))
                customs += timedelta(hours=rng.uniform(24, 120))
            clock += customs + timedelta(hours=rng.uniform(6, 8))
            steps.append((Milestone.customs_cleared, clock))
        delivered = clock + transit * 0.2
        last_leg = min(timedelta(hours=rng.uniform(2, 6)), (delivered - clock) / 2)
        steps.append((Milestone.out_for_delivery, delivered - last_leg))
        steps.append((Milestone.delivered, delivered))
        journey = []
        for n, (milestone, at) in enumerate(steps):
            at = at.replace(microsecond=0)
            late = rng.random() < self.late_scan_probability and milestone is not Milestone.delivered
            reported = at + timedelta(hours=rng.uniform(6, 30)) if late else at
            event = TrackingEvent(milestone=milestone, occurred_at=at, location=lane.id, event_id=f"{number}-{n}")
            journey.append(_Reported(event, reported))
        return journey
