"""How each policy serves a buyer, always through the platform's quote and place services.

* `meshfab`: the promise engine's offers (the buyer takes the fastest or the cheapest that arrives in time),
  network re-planning and factory scheduling.
* `nearest`: the line goes to the nearest capable factory that still has room, first come first served: the
  promise engine is asked for that factory alone, so dates and reservations stay honest; no re-planning.
* `fixed-lead-time`: a classic ERP. The cheapest offer's factory makes it, but the buyer is promised
  `now + lead days` for the template whatever the capacity; no re-planning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from meshfab.domain.errors import Conflict, InvalidInput
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer
from meshfab.domain.principals import Principal
from meshfab.engines.promise import Offer, Refusal
from meshfab.engines.promise import quote as engine_quote
from meshfab.services.orders import LineRequest, PlaceOrder, place_order
from meshfab.services.platform import Platform
from meshfab.services.promise import PromiseRefused, QuotedOffer, plan_line, quote, store_offers
from meshfab.sim.demand import Arrival
from meshfab.sim.scenario import Scenario
from meshfab.store.tables import PromiseRow

POLICIES = ("meshfab", "nearest", "fixed-lead-time")
OPERATOR = Principal.parse("operator")
SCOPE = str(OPERATOR)

CENTROIDS: dict[str, tuple[float, float]] = {
    "US": (39.8, -98.6),
    "GB": (52.4, -1.5),
    "DE": (51.2, 10.4),
    "FR": (46.6, 2.4),
    "NL": (52.1, 5.3),
    "PL": (52.0, 19.1),
    "CA": (56.1, -106.3),
    "MX": (23.6, -102.5),
    "AU": (-25.3, 133.8),
    "JP": (36.2, 138.3),
    "KR": (36.5, 127.9),
    "BR": (-14.2, -51.9),
    "CN": (35.9, 104.2),
}  # approximate centres, enough to rank factories by distance
MERCHANTS = {"web": "teamkit", "marketplace": "giftmarket", "store": "yiwu-showroom", "api": "clubshop-api"}


@dataclass(frozen=True)
class Served:
    """What happened to one buyer: an order, or a walk-away with its reason."""

    order_id: str | None
    walked: str | None = None
    offer: Offer | None = None
    promised: date | None = None


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 12742 * math.asin(math.sqrt(h))


class Policy:
    name = "meshfab"
    replans = True

    def __init__(self, platform: Platform, scenario: Scenario) -> None:
        self.platform, self.scenario = platform, scenario

    def serve(self, arrival: Arrival) -> Served:
        try:
            offers = self.offers(arrival)
        except PromiseRefused as exc:
            return Served(None, walked=str(exc.extensions.get("reason", "refused")))
        except InvalidInput:
            return Served(None, walked="invalid")
        chosen = self.choose(arrival, offers)
        if chosen is None:
            return Served(None, walked="too_late")
        quoted, promised = chosen
        try:
            order = place_order(self.platform, OPERATOR, _command(arrival, quoted))
        except Conflict:
            return Served(None, walked="capacity_gone")
        if promised != quoted.offer.delivery_by:
            self.override_promise(order.lines[0].id, promised)
        return Served(str(order.id), offer=quoted.offer, promised=promised)

    def offers(self, arrival: Arrival) -> list[QuotedOffer]:
        return quote(self.platform, SCOPE, arrival.template, arrival.options, arrival.quantity, arrival.country)

    def choose(self, arrival: Arrival, offers: list[QuotedOffer]) -> tuple[QuotedOffer, date] | None:
        """Among the offers that arrive in time, the fastest or the cheapest, as the buyer prefers."""
        fine = [q for q in offers if q.offer.delivery_by <= arrival.must_arrive_by]
        if not fine:
            return None
        if arrival.wants_fastest:
            best = min(fine, key=lambda q: (q.offer.delivery_by, q.offer.price))
        else:
            best = min(fine, key=lambda q: (q.offer.price, q.offer.delivery_by))
        return best, best.offer.delivery_by

    def override_promise(self, line_id: Any, promised: date) -> None:
        with self.platform.uow() as uow:
            uow.session.execute(update(PromiseRow).where(PromiseRow.line_id == line_id).values(delivery_by=promised))
            uow.commit()


class Nearest(Policy):
    name = "nearest"
    replans = False
    TRIES = 4

    def offers(self, arrival: Arrival) -> list[QuotedOffer]:
        """The promise engine asked for one factory at a time, nearest first, until one has room."""
        platform = self.platform
        with platform.uow() as uow:
            template = uow.templates.get(arrival.template)
            if template is None:
                raise InvalidInput(f"unknown template {arrival.template!r}")
            plan = plan_line(platform, template, arrival.options, arrival.quantity, arrival.country)
            snapshot = platform.capacity.get(uow.session, plan.request.now)
            if snapshot is None:
                raise PromiseRefused(_refusal("no_capable_factory"))
            capable = snapshot.accepts.copy()
            for op in plan.request.operations:
                capable &= snapshot.capable.get(op.capability, False)
            where = CENTROIDS.get(arrival.country, (0.0, 0.0))
            ranked = sorted(
                (km((f.location.lat, f.location.lon), where), f.id, i)
                for i, f in enumerate(snapshot.factories)
                if capable[i]
            )
            saved = snapshot.accepts.copy()
            try:
                for _, _, i in ranked[: self.TRIES]:
                    snapshot.accepts[:] = False
                    snapshot.accepts[i] = True
                    result = engine_quote(snapshot, plan.request)
                    if isinstance(result, list):
                        first = [min(result, key=lambda o: o.delivery_by)]
                        quoted = store_offers(platform, uow, SCOPE, plan, first)
                        uow.commit()
                        return quoted
            finally:
                snapshot.accepts[:] = saved
        raise PromiseRefused(_refusal("capacity_exhausted"))

    def choose(self, arrival: Arrival, offers: list[QuotedOffer]) -> tuple[QuotedOffer, date] | None:
        q = offers[0]
        return (q, q.offer.delivery_by) if q.offer.delivery_by <= arrival.must_arrive_by else None


class FixedLeadTime(Policy):
    name = "fixed-lead-time"
    replans = False

    def choose(self, arrival: Arrival, offers: list[QuotedOffer]) -> tuple[QuotedOffer, date] | None:
        b = self.scenario.baselines
        days = b.lead_days.get(arrival.template, b.default_lead_days)
        promised = (arrival.at + timedelta(days=days)).date()
        if promised > arrival.must_arrive_by:
            return None
        return min(offers, key=lambda q: (q.offer.price, q.offer.delivery_by)), promised


def _refusal(reason: str) -> Refusal:
    return Refusal(reason, f"no nearby capable factory has room ({reason})")  # type: ignore[arg-type]


def make_policy(name: str, platform: Platform, scenario: Scenario) -> Policy:
    kinds: dict[str, type[Policy]] = {"meshfab": Policy, "nearest": Nearest, "fixed-lead-time": FixedLeadTime}
    if name not in kinds:
        raise ValueError(f"unknown policy {name!r}; choose from {', '.join(POLICIES)}")
    return kinds[name](platform, scenario)


def _command(arrival: Arrival, quoted: QuotedOffer) -> PlaceOrder:
    channel = ("web", "marketplace", "store", "api")[arrival.number % 4]
    return PlaceOrder(
        buyer=Buyer(name=f"Buyer {arrival.number}", email=f"buyer{arrival.number}@example.com"),
        ship_to=Address(name=f"Buyer {arrival.number}", line1="1 Main Street", city="Town", country=arrival.country),
        lines=[LineRequest(offer_id=quoted.id)],
        merchant_id=MERCHANTS[channel],
    )
