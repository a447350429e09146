"""Capable-to-promise at checkout: quote offers, and hold a quoted plan against locked capacity.

`quote` answers from the in-memory capacity view and stores every offer it makes, with an expiry, so an
order can later be placed on exactly that plan. `hold` is the other half, inside the placing transaction:
it locks the plan's buckets in the one global order, re-checks the plan by the engine's own rule on a
snapshot made of the locked rows, and only then reserves. A plan that no longer fits is refused with
`CapacityGone`, and the caller answers with a fresh offer instead of silently moving the date.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row, bindparam, select

from meshfab.domain.catalog import Template
from meshfab.domain.errors import Conflict, InvalidInput, Problem
from meshfab.domain.factories import Factory
from meshfab.engines.configurator import Configuration, configure
from meshfab.engines.parcels import ParcelTooHeavy, parcel_weights
from meshfab.engines.promise import CapacitySnapshot, Offer, OperationNeed, QuoteRequest, Refusal, check
from meshfab.engines.promise import quote as engine_quote
from meshfab.services.offer_codec import offer_from_json, offer_to_json
from meshfab.services.platform import Platform
from meshfab.store.capacity import families_in, lock_buckets, write_reserved
from meshfab.store.repositories import Updates, factory_from_row, insert_rows
from meshfab.store.tables import FactoryRow, OfferRow
from meshfab.store.uow import UnitOfWork


class PromiseRefused(Conflict):
    """Nothing can be made and delivered within the horizon; `reason` says why."""

    kind = "promise-refused"

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.detail)
        self.extensions: dict[str, Any] = {"reason": refusal.reason}


class CapacityGone(Conflict):
    """The plan behind an offer no longer fits; `extensions` carries fresh offers when there are any."""

    kind = "capacity-gone"

    def __init__(self, detail: str, line_no: int) -> None:
        super().__init__(detail)
        self.line_no = line_no
        self.extensions: dict[str, Any] = {"line": line_no}


class OfferExpired(Conflict):
    kind = "offer-expired"


@dataclass(frozen=True)
class LinePlan:
    """What a configured line needs, ready for the promise engine."""

    template: Template
    options: dict[str, Any]
    quantity: int
    configuration: Configuration
    request: QuoteRequest


@dataclass(frozen=True)
class QuotedOffer:
    id: UUID
    offer: Offer
    expires_at: datetime
    product_price: int


@dataclass
class Hold:
    """The minutes a placing transaction reserved, for updating the in-memory view after commit."""

    offers: list[Offer] = field(default_factory=list)


def plan_line(
    platform: Platform,
    template: Template,
    options: dict[str, Any],
    quantity: int,
    country: str,
    where: tuple[str | int, ...] = ("body",),
) -> LinePlan:
    """Configure the line and turn it into a quote request; every violation is reported, not just one."""
    try:
        configuration = configure(template, options, quantity=quantity)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, [Problem((*where, *p.loc), p.msg) for p in exc.problems]) from None
    if not configuration.valid:
        problems = [Problem((*where, "options"), v.message) for v in configuration.violations]
        raise InvalidInput(
            "the configuration is not complete and valid",
            problems or [Problem((*where, "options"), "configuration is incomplete")],
        )
    assert configuration.operations is not None
    try:
        parcels = parcel_weights(template.key, quantity, configuration.weight_grams or 1, template.packing)
    except ParcelTooHeavy as exc:  # it could be made, but no carrier would take it
        raise InvalidInput(exc.detail, [Problem((*where, "quantity"), exc.detail)]) from None
    request = QuoteRequest(
        operations=tuple(
            OperationNeed(op.capability, op.setup_family, op.setup_minutes, float(op.run_minutes_per_unit), op.sequence)
            for op in configuration.operations
        ),
        quantity=quantity,
        destination_country=country,
        parcel_grams=parcels,
        now=platform.clock.now(),
        unit_price=configuration.price.unit,
        currency=template.currency,
        horizon_days=platform.settings.horizon_days,
        handover_margin_minutes=platform.settings.handover_margin_minutes,
    )
    return LinePlan(template, dict(options), quantity, configuration, request)


def offers_for(platform: Platform, uow: UnitOfWork, plan: LinePlan) -> list[Offer]:
    snapshot = platform.capacity.get(uow.session, plan.request.now)
    if snapshot is None:
        raise PromiseRefused(Refusal("no_capable_factory", "the mesh has no factory"))
    result = engine_quote(snapshot, plan.request)
    if isinstance(result, Refusal):
        raise PromiseRefused(result)
    return result


def store_offers(
    platform: Platform, uow: UnitOfWork, principal: str, plan: LinePlan, offers: list[Offer]
) -> list[QuotedOffer]:
    now = plan.request.now
    expires = now + timedelta(minutes=platform.settings.offer_minutes)
    quoted = [QuotedOffer(uuid.uuid4(), offer, expires, plan.configuration.price.total) for offer in offers]
    insert_rows(
        uow.session,
        OfferRow,
        [
            {
                "id": q.id,
                "principal": principal,
                "template_key": plan.template.key,
                "options": plan.options,
                "quantity": plan.quantity,
                "destination_country": plan.request.destination_country,
                "unit_price": plan.request.unit_price,
                "plan": offer_to_json(q.offer),
                "delivery_by": q.offer.delivery_by,
                "price": q.offer.price,
                "currency": q.offer.currency,
                "created_at": now,
                "expires_at": expires,
                "used_by": None,
            }
            for q in quoted
        ],
    )
    return quoted


def quote(
    platform: Platform, principal: str, template_key: str, options: dict[str, Any], quantity: int, country: str
) -> list[QuotedOffer]:
    with platform.uow() as uow:
        template = uow.templates.get(template_key)
        if template is None:
            raise InvalidInput("unknown template", [Problem(("body", "template"), f"no template {template_key!r}")])
        plan = plan_line(platform, template, options, quantity, country)
        quoted = store_offers(platform, uow, principal, plan, offers_for(platform, uow, plan))
        uow.commit()
    return quoted


_OFFERS = OfferRow.__table__
_LOCKED_OFFER = select(_OFFERS).where(_OFFERS.c.id == bindparam("id")).with_for_update()


def load_offer(
    uow: UnitOfWork, principal: str, offer_id: UUID, now: datetime, where: tuple[str | int, ...]
) -> tuple[Row[Any], Offer]:
    """An offer this caller was given, still open, its row locked so that two orders cannot both use it.
    Another caller's offer is unknown, not forbidden."""
    row = uow.session.execute(_LOCKED_OFFER, {"id": offer_id}).first()
    if row is None or row.principal != principal:
        raise InvalidInput("unknown offer", [Problem((*where, "offer_id"), f"no offer {offer_id} for this caller")])
    if row.used_by is not None:
        raise Conflict(f"offer {offer_id} was already used for an order")
    if row.expires_at <= now:
        raise OfferExpired(f"offer {offer_id} expired at {row.expires_at.isoformat()}; quote again")
    return row, offer_from_json(row.plan)


_FACTORIES = FactoryRow.__table__
_SHARED_FACTORIES = (
    select(_FACTORIES)
    .where(_FACTORIES.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_FACTORIES.c.id)
    .with_for_update(read=True)
)
"""The plans' factories, share-locked in id order: built once, as every order placed runs it."""


def hold(uow: UnitOfWork, offers: list[tuple[int, Offer]], now: datetime, days: int) -> None:
    """Lock every bucket of every plan (one global order), re-check each plan, then reserve its minutes."""
    rows = uow.session.execute(_SHARED_FACTORIES, {"ids": sorted({o.factory_id for _, o in offers})})
    factories = {r.id: factory_from_row(r) for r in rows}
    keys = [(r.factory_id, r.capability, r.day) for _, o in offers for r in o.reservations]
    buckets = lock_buckets(uow.session, factories, keys)
    snapshot = _locked_snapshot(uow, list(factories.values()), offers, buckets, now, days)
    for line_no, offer in offers:
        if snapshot is None or not check(snapshot, offer, now=now):
            raise CapacityGone(f"the plan for line {line_no} no longer fits its factory's capacity", line_no)
        snapshot.apply(offer)
        for r in offer.reservations:
            buckets[(r.factory_id, r.capability, r.day)].reserved += r.minutes
    write_reserved(uow.session, buckets.values())


def _locked_snapshot(
    uow: UnitOfWork,
    factories: list[Factory],
    offers: list[tuple[int, Offer]],
    buckets: dict[Any, Any],
    now: datetime,
    days: int,
) -> CapacitySnapshot | None:
    """A snapshot of the locked buckets, holding what `check` reads and no more: no lanes (a plan's lane and
    cutoff were fixed at the quote, `check` reads neither), and the setup families of the buckets only where a
    reservation counts on a family's lot being there."""
    if not factories:
        return None
    first: date = min(f.local_day(now) for f in factories)
    last = first + timedelta(days=days)
    in_range = [b for b in buckets.values() if first <= b.day < last]
    saved = [(r.factory_id, r.capability, r.day) for _, o in offers for r in o.reservations if r.setup_saved]
    return CapacitySnapshot(
        factories, [], now=now, days=days, buckets=in_range, families=families_in(uow.session, saved)
    )


def used_offers(used: list[tuple[UUID, UUID]]) -> Updates:
    """Each (offer, line) pair tied, for the statement that writes the order: an offer makes one line at most."""
    return Updates(OfferRow, "id", [{"id": offer_id, "used_by": line_id} for offer_id, line_id in used])


def reservation_rows(lines: list[tuple[UUID, Offer]]) -> list[dict[str, Any]]:
    """The reservation rows of placed lines, from the plans of their offers."""
    return [
        {
            "line_id": line_id,
            "factory_id": r.factory_id,
            "capability": r.capability,
            "day": r.day,
            "minutes": r.minutes,
            "setup_family": r.setup_family,
            "setup_minutes": r.setup_minutes,
        }
        for line_id, offer in lines
        for r in offer.reservations
    ]


def offer_view(quoted: QuotedOffer, *, reveal_factory: bool) -> dict[str, Any]:
    """What a caller is shown of an offer; merchants see the region, never the factory."""
    o = quoted.offer
    view: dict[str, Any] = {
        "offer_id": str(quoted.id),
        "labels": list(o.labels),
        "delivery_by": o.delivery_by.isoformat(),
        "ship_at": o.ship_at.isoformat(),
        "region": o.region,
        "price": {"amount": o.price, "currency": o.currency},
        "product_price": {"amount": quoted.product_price, "currency": o.currency},
        "shipping_price": {"amount": o.shipping_cost, "currency": o.currency},
        "expires_at": quoted.expires_at.isoformat(),
    }
    if reveal_factory:
        view |= {"factory_id": o.factory_id, "lane_id": o.lane_id, "production_cost": o.production_cost}
    return view
