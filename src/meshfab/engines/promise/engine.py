"""Capable-to-promise: the earliest date a capable factory can make a line and a lane can deliver it.

How time is modelled (aggregate buckets, the checkout horizon of the design):

* **Buckets.** Minutes of one capability at one factory on one *local* calendar day: shift minutes × workcenter
  count × efficiency (``calendar_buckets``), holidays at zero; stored buckets may override what is available.
  A bucket fills from its day's first shift on: work already reserved comes first, new work after it.
* **Today.** The part of today's calendar before ``now`` is gone, and today's reservations are assumed still
  to be done after ``now`` (a promise errs on the late side): usable = available − reserved − elapsed share.
  Days before a factory's local today are gone entirely; the horizon counts ``horizon_days`` local days from
  the factory's today (capped by the snapshot's days).
* **Operations** are placed in ``sequence`` order (equal numbers side by side). An operation takes free minutes
  day by day from the first day its predecessors finished on and spills into the next days with free minutes
  (working days only: a day without shifts has none, even if a stored bucket gives it minutes, since work there
  would have no finish instant). Buckets do not order work inside a day, so a successor may use the same day's
  room; but its finish is dated by the flow too: its minutes, on ``min(lots, machines)`` machines at their
  efficiency, walked along the shifts from the predecessor's finish (``walk``). On the floor one lot goes
  through cut, sew, print and pack in turn, so a route of single machines is not made in its last step's
  share of the day: dated by buckets alone, such lines shipped a day late.
* **Setup** is held once per lot on the operation's first day. A line above the factory's ``max_lot`` is
  ``ceil(quantity / max_lot)`` lots. If the setup family already has a lot in that first bucket, one lot's setup
  is not charged (the line joins that lot); ``min_lot`` is the factory scheduler's business, since lines of
  one family are batched together.
* **Finish instant.** The last day's minutes (reserved + elapsed + this line) are laid on that day's shifts
  in proportion; that instant, or the flow's when later, is ``ready_at``.
* **Cutoff.** The parcel leaves at the lane's cutoff (factory local time) of the ready day if ready at or
  before it, less the request's hand-over margin, else at the cutoff of the factory's next working day
  (someone has to hand it over). The margin is the platform's choice of how honest a promise must be: the
  floor runs lots in the order its schedule finds best, and machines break down.
* **Delivery.** ``ship_at`` + the lane's ``allowance_hours`` (transit p95, customs days, and what the parcels'
  record added) gives an arrival instant; its
  calendar date in the destination's latest-running main zone (``timegrid.DESTINATION_ZONES``, UTC+14 for
  countries not listed) is ``delivery_by``. Transit counts calendar hours: carriers' weekends are in p95.
* **Shipping price** is the lane's tariff (``domain.lanes.tariff``) on the parcels the line fills alone, boxes
  included (``QuoteRequest.parcel_grams``): what the carrier will bill, not a per-gram estimate below it.
* **No split.** A line is made by one factory and ships from it (a heavy line may fill several parcels):
  splitting doubles parcels and shipping,
  mixes batches of one product and makes the plan behind a promise two plans that can break separately. A
  line no single factory can make within the horizon is refused (``capacity_exhausted``); the storefront
  can suggest smaller lines, and the network planner may still move unstarted lines later.
* **Offers.** Every (factory, lane) pair is scored; the Pareto front of (delivery date, price) is kept, ties
  broken by platform cost (production + shipping), then factory and lane id. The first is the fastest, the last
  the cheapest; with more than ``max_offers`` the middle is thinned evenly. Money never converts: factories and
  lanes in another currency than the request's are not offered.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from meshfab.domain.lanes import tariff

from .plan import Clock, LinePlan, free_minutes, plan_line, position
from .problem import Offer, QuoteRequest, Refusal, Reservation
from .snapshot import CapacitySnapshot, CountryLanes
from .timegrid import epoch_day_to_date, from_minutes, to_minutes


def quote(snapshot: CapacitySnapshot, request: QuoteRequest, *, max_offers: int = 3) -> list[Offer] | Refusal:
    """Offers for one line, fastest first and cheapest last, or a refusal saying why there is none."""
    if max_offers < 2:
        raise ValueError("max_offers must allow both the fastest and the cheapest offer")
    lanes = snapshot.country(request.destination_country)
    if lanes is None:
        return Refusal("country_not_served", f"no lane reaches {request.destination_country}")
    clock = Clock(snapshot, request.now, request.horizon_days)
    line = plan_line(snapshot, request, clock)
    capable = snapshot.accepts & _currency(snapshot, request.currency)
    for op in request.operations:
        capable &= snapshot.capable.get(op.capability, False)
    if not capable.any():
        return Refusal("no_capable_factory", _no_capable(snapshot, request))
    lane_ok = snapshot.lane_currency == request.currency
    served = capable[lanes.factory] & lane_ok[lanes.lane]
    if not served.any():
        regions = sorted({snapshot.factories[i].location.region for i in np.flatnonzero(capable)})
        where = ", ".join(regions)
        return Refusal(
            "country_not_served", f"capable factories are in {where}; none has a lane to {request.destination_country}"
        )
    scored = _score(snapshot, request, line, lanes, served & line.feasible[lanes.factory])
    if scored is None:
        return Refusal(
            "capacity_exhausted",
            f"no capable factory can make {request.quantity} within "
            f"{request.horizon_days} days and ship to {request.destination_country}",
        )
    pairs, delivery, price, total, ship_at, ship_cost = scored
    chosen = _front(pairs, delivery, price, total, max_offers)
    offers = [
        _offer(
            snapshot,
            request,
            line,
            lanes,
            int(pairs[j]),
            int(delivery[j]),
            int(price[j]),
            float(ship_at[j]),
            int(ship_cost[j]),
        )
        for j in chosen
    ]
    labels = [("fastest",) if k == 0 else () for k in range(len(offers))]
    labels[-1] = (*labels[-1], "cheapest")
    return [_label(o, lab) for o, lab in zip(offers, labels, strict=True)]


def check(snapshot: CapacitySnapshot, offer: Offer, *, now: datetime | None = None) -> bool:
    """Whether the plan behind ``offer`` still holds at ``now`` (default: when it was quoted), by the quote's rules:
    every reservation fits its bucket's free minutes (``free_minutes``, as ``plan_line``: none on days without
    shifts), a setup saved still has its family's lot, no work falls after the ship day, work on the ship day
    ends by the cutoff, and the factory still takes work. The service relies on this agreeing with ``quote``."""
    at = to_minutes(now or offer.quoted_at)
    i = snapshot.index.get(offer.factory_id)
    if i is None or not snapshot.accepts[i] or to_minutes(offer.ship_at) < at:
        return False
    clock = Clock(snapshot, now or offer.quoted_at, snapshot.days)
    ship_day = snapshot.day_index(snapshot.factories[i].local_day(offer.ship_at))
    held: dict[tuple[str, int], int] = {}
    for r in offer.reservations:
        if r.factory_id != offer.factory_id:
            return False
        try:
            _, d = snapshot.locate(r.factory_id, r.capability, r.day)
        except KeyError:
            return False
        if d < clock.today[i] or d > ship_day:
            return False
        available = float(snapshot.available[r.capability][i, d])
        gone = available * clock.fraction[i, d] if d < clock.cols else 0.0
        load = snapshot.reserved[r.capability][i, d] + gone + held.get((r.capability, d), 0)
        if r.minutes > free_minutes(np.float64(available), np.float64(load), snapshot.calendar_minutes[i, d]):
            return False
        if r.setup_saved and not snapshot.has_family(r.factory_id, r.capability, r.day, r.setup_family):
            return False
        if d == ship_day:
            end = position(snapshot, r.capability, np.array([i]), np.array([d]), np.array([load + r.minutes]))
            if end[0] > to_minutes(offer.ship_at) + 1e-6:
                return False
        held[(r.capability, d)] = held.get((r.capability, d), 0) + r.minutes
    return True


def _currency(snapshot: CapacitySnapshot, currency: str) -> np.ndarray:
    return np.array([f.currency == currency for f in snapshot.factories])


def _no_capable(snapshot: CapacitySnapshot, request: QuoteRequest) -> str:
    caps = sorted({op.capability for op in request.operations})
    anywhere = [f for f in snapshot.factories if set(caps) <= f.capabilities]
    if not anywhere:
        return f"no factory has all of {', '.join(caps)}"
    idle = sorted(f"{f.id} ({f.status.value})" for f in anywhere if not f.accepts_work)
    other = sorted(f.id for f in anywhere if f.accepts_work and f.currency != request.currency)
    parts = [f"paused or dark: {', '.join(idle)}"] if idle else []
    parts += [f"priced in another currency: {', '.join(other)}"] if other else []
    return f"factories with {', '.join(caps)} take no new work here ({'; '.join(parts)})"


def _score(
    snapshot: CapacitySnapshot, request: QuoteRequest, line: LinePlan, lanes: CountryLanes, valid: np.ndarray
) -> tuple[np.ndarray, ...] | None:
    pairs = np.flatnonzero(valid)
    if not len(pairs):
        return None
    f, k = lanes.factory[pairs], lanes.lane[pairs]
    ready_day = line.ready_day[f]
    ready = line.ready[f] + request.handover_margin_minutes
    on_time = (snapshot.calendar_minutes[f, ready_day] > 0) & (ready <= lanes.cutoff[pairs, ready_day])
    ship_day = np.where(on_time, ready_day, snapshot.next_working[f, ready_day + 1])
    keep = ship_day < snapshot.calendar_days
    if not keep.any():
        return None
    pairs, f, k, ship_day = pairs[keep], f[keep], k[keep], ship_day[keep]
    ship_at = lanes.cutoff[pairs, ship_day]
    arrival = ship_at + snapshot.lane_allowance_hours[k] * 60.0
    delivery = lanes.dates.epoch_days(arrival)
    ship_cost = tariff(snapshot.lane_per_parcel[k], snapshot.lane_per_kg[k], request.parcel_grams)
    price = request.unit_price * request.quantity + ship_cost
    total = line.cost[f] + ship_cost
    return pairs, delivery, price, total, ship_at, ship_cost


def _front(pairs: np.ndarray, delivery: np.ndarray, price: np.ndarray, total: np.ndarray, max_offers: int) -> list[int]:
    """Positions of the Pareto front on (delivery, price), fastest first, thinned to ``max_offers``."""
    order = np.lexsort((pairs, total, price, delivery))
    best = np.minimum.accumulate(price[order])
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = price[order][1:] < best[:-1]
    front = order[keep]
    if len(front) > max_offers:
        picks = np.unique(np.round(np.linspace(0, len(front) - 1, max_offers)).astype(int))
        front = front[picks]
    return [int(j) for j in front]


def _offer(
    snapshot: CapacitySnapshot,
    request: QuoteRequest,
    line: LinePlan,
    lanes: CountryLanes,
    pair: int,
    delivery: int,
    price: int,
    ship_at: float,
    ship_cost: int,
) -> Offer:
    i, k = int(lanes.factory[pair]), int(lanes.lane[pair])
    factory = snapshot.factories[i]
    reservations = []
    for plan in line.operations:
        first = int(plan.first[i])
        for d in np.flatnonzero(plan.used[i]):
            reservations.append(
                Reservation(
                    factory.id,
                    plan.op.capability,
                    snapshot.day_of(int(d)),
                    int(plan.used[i, d]),
                    plan.op.setup_family,
                    int(plan.setup[i]) if d == first else 0,
                    int(plan.saved[i]) if d == first else 0,
                )
            )
    return Offer(
        factory_id=factory.id,
        region=factory.location.region,
        lane_id=snapshot.lanes[k].id,
        reservations=tuple(reservations),
        ready_at=from_minutes(float(line.ready[i])),
        ship_at=from_minutes(ship_at),
        delivery_by=epoch_day_to_date(delivery),
        production_cost=int(line.cost[i]),
        shipping_cost=ship_cost,
        price=price,
        currency=request.currency,
        quoted_at=request.now,
    )


def _label(offer: Offer, labels: tuple[str, ...]) -> Offer:
    return replace(offer, labels=labels)
