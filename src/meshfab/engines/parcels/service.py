"""Which lane (carrier service) a parcel takes: the cheapest that keeps the promise, else the fastest.

* **Candidates.** Lanes from the factory's region to the parcel's country. Costs of different currencies are
  never compared (money does not convert): the candidates must share one currency.
* **Cost** = ``cost_per_parcel`` + the weight rounded up to the next 100 g × ``cost_per_kg``, the product
  rounded up to the minor unit (carriers bill started units).
* **Ship at** the lane's first cutoff (factory local time, working days only) at or after the later of ``now``
  and the parcel's ``ready_at``.
* **Expected delivery** = ship at + the lane's ``allowance_hours`` (transit p95, customs days, and what the
  parcels' record added), as the promise counts it; its date is read in the destination's latest-running
  zone, as the promise engine does, and compared with the promised date (on time when on or before it).
* **Choice.** Among lanes keeping the promise: lowest cost, then earliest delivery, then lane id. If none
  keeps it: earliest delivery, then lowest cost, then lane id, with ``keeps_promise`` False so the caller
  raises ``promise.at_risk``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from meshfab.domain.errors import InvalidInput
from meshfab.domain.factories import Factory
from meshfab.domain.lanes import Lane, tariff
from meshfab.domain.money import Money
from meshfab.domain.parcels import TrackingState
from meshfab.engines.promise.timegrid import DESTINATION_ZONES, FALLBACK_ZONE

from .consolidate import NoLane, ParcelPlan, next_cutoff


@dataclass(frozen=True)
class ServiceChoice:
    lane: Lane
    ship_at: datetime
    expected_delivery_p95: datetime
    delivery_date: date
    cost: Money
    keeps_promise: bool


def shipping_cost(lane: Lane, weight_grams: int) -> Money:
    """Lane price of a parcel: per parcel + per started 100 g, rounded up to the minor unit."""
    if weight_grams < 1:
        raise InvalidInput("a parcel weighs at least 1 g")
    return Money(amount=tariff(lane.cost_per_parcel, lane.cost_per_kg, [weight_grams]), currency=lane.currency)


def delivery_date(instant: datetime, country: str) -> date:
    """The calendar date of an arrival instant in the destination (its latest-running main zone)."""
    return instant.astimezone(ZoneInfo(DESTINATION_ZONES.get(country, FALLBACK_ZONE))).date()


def evaluate(parcel: ParcelPlan, lane: Lane, factory: Factory, promised_by: date, now: datetime) -> ServiceChoice:
    """What shipping ``parcel`` on ``lane`` would cost and when it would arrive (p95)."""
    ship_at = next_cutoff(factory, lane.cutoff, max(now, parcel.ready_at))
    arrival = ship_at + timedelta(hours=lane.allowance_hours)
    when = delivery_date(arrival, parcel.destination_country)
    cost = shipping_cost(lane, parcel.weight_grams)
    return ServiceChoice(lane, ship_at, arrival, when, cost, when <= promised_by)


def choose_service(
    parcel: ParcelPlan, lanes: Sequence[Lane], factory: Factory, promised_by: date, now: datetime
) -> ServiceChoice:
    """The lane a parcel should take (see the module's rules); ``NoLane`` when none serves it."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC instant")
    candidates = [
        lane
        for lane in lanes
        if lane.origin_region == factory.location.region and lane.destination_country == parcel.destination_country
    ]
    if not candidates:
        raise NoLane(f"no lane from {factory.location.region} to {parcel.destination_country}")
    currencies = sorted({lane.currency for lane in candidates})
    if len(currencies) > 1:
        raise InvalidInput(f"lanes for this parcel price in several currencies {currencies}: costs cannot be compared")
    options = [evaluate(parcel, lane, factory, promised_by, now) for lane in candidates]
    keeping = [o for o in options if o.keeps_promise]
    if keeping:
        return min(keeping, key=lambda o: (o.cost.amount, o.expected_delivery_p95, o.lane.id))
    return min(options, key=lambda o: (o.expected_delivery_p95, o.cost.amount, o.lane.id))


def promise_broken(state: TrackingState, promised_by: date, country: str) -> bool:
    """True when the parcel's expected delivery (moved by customs holds) falls after the promised date."""
    if state.expected_delivery is None:
        return False
    return delivery_date(state.expected_delivery, country) > promised_by
