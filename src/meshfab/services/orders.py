"""Order use cases: place, read, list, cancel. Each is one transaction and emits its outbox event."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select

from meshfab.domain.errors import InvalidInput, NotFound, Problem
from meshfab.domain.events import Event
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer, Channel
from meshfab.domain.orders import LinePromise, Order, OrderLine, OrderStatus, PromiseStatus
from meshfab.domain.principals import Principal, Role
from meshfab.engines.promise import Offer
from meshfab.services.access import require_merchant_access, require_role
from meshfab.services.platform import Platform
from meshfab.services.promise import (
    CapacityGone,
    PromiseRefused,
    hold,
    load_offer,
    offer_view,
    offers_for,
    plan_line,
    reservation_rows,
    store_offers,
    used_offers,
)
from meshfab.store.capacity import release_line
from meshfab.store.tables import PromiseRow, ReservationRow
from meshfab.store.uow import UnitOfWork


@dataclass(frozen=True)
class LineRequest:
    """Either an offer from an earlier quote, or a configuration to quote on the spot (fastest offer)."""

    template: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    quantity: int | None = None
    offer_id: UUID | None = None


@dataclass(frozen=True)
class PlaceOrder:
    buyer: Buyer
    ship_to: Address
    lines: list[LineRequest]
    merchant_id: str | None = None
    channel: Channel | None = None


@dataclass
class _Line:
    """A line resolved to what will be made and the plan that makes it."""

    template: str
    options: dict[str, Any]
    quantity: int
    unit_price: int
    offer: Offer
    offer_id: UUID | None = None
    """the offer the line was placed on, if any, marked used when the order is stored"""


def _merchant_for(principal: Principal, requested: str | None) -> str:
    require_role(principal, {Role.operator, Role.merchant}, "place orders")
    if principal.role is Role.merchant:
        if requested is not None and requested != principal.subject:
            raise InvalidInput(
                "a merchant places orders for itself",
                [Problem(("body", "merchant_id"), "leave it out or give your own merchant id")],
            )
        return str(principal.subject)
    if requested is None:
        raise InvalidInput("merchant_id is required", [Problem(("body", "merchant_id"), "field required")])
    return requested


def _resolve(platform: Platform, uow: UnitOfWork, scope: str, cmd: PlaceOrder, now: datetime) -> list[_Line]:
    """Every line to a plan; all problems of all lines are collected before refusing."""
    problems: list[Problem] = []
    lines: list[_Line] = []
    for i, line in enumerate(cmd.lines):
        where = ("body", "lines", i)
        try:
            if line.offer_id is not None:
                row, offer = load_offer(uow, scope, line.offer_id, now, where)
                if row.destination_country != cmd.ship_to.country:
                    raise InvalidInput(
                        "offer for another country",
                        [
                            Problem(
                                (*where, "offer_id"),
                                f"quoted for {row.destination_country}, ship_to is {cmd.ship_to.country}",
                            )
                        ],
                    )
                lines.append(_Line(row.template_key, row.options, row.quantity, row.unit_price, offer, row.id))
                continue
            template = uow.templates.get(line.template or "")
            if template is None:
                raise InvalidInput(
                    "unknown template", [Problem((*where, "template"), f"unknown template {line.template!r}")]
                )
            plan = plan_line(platform, template, line.options, line.quantity or 1, cmd.ship_to.country, where)
            offers = offers_for(platform, uow, plan)
            lines.append(_Line(template.key, dict(line.options), plan.quantity, plan.request.unit_price, offers[0]))
        except InvalidInput as exc:
            problems += exc.problems or [Problem(where, exc.detail)]
    if problems:
        raise InvalidInput("the order cannot be placed as given", problems)
    currencies = {line.offer.currency for line in lines}
    if len(currencies) > 1:
        raise InvalidInput(
            "one order, one currency", [Problem(("body", "lines"), f"lines priced in {sorted(currencies)}")]
        )
    return lines


QUOTE_ATTEMPTS = 3


def place_order(platform: Platform, principal: Principal, cmd: PlaceOrder) -> Order:
    """Place an order in one transaction: resolve plans, hold capacity under lock, store order and promises.

    If an offer the buyer accepted no longer fits, nothing is stored and the caller gets `CapacityGone` with
    fresh offers: the date the buyer saw is never moved silently. Lines quoted on the spot promised nothing
    yet, so a plan beaten by a concurrent order is simply quoted again on fresh capacity, a few times.
    """
    merchant_id = _merchant_for(principal, cmd.merchant_id)
    on_the_spot = all(line.offer_id is None for line in cmd.lines)
    for attempt in range(1, QUOTE_ATTEMPTS + 1):
        try:
            return _place(
                platform, principal, merchant_id, cmd, with_fresh_offers=not on_the_spot or attempt == QUOTE_ATTEMPTS
            )
        except CapacityGone:
            if not on_the_spot or attempt == QUOTE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _place(
    platform: Platform, principal: Principal, merchant_id: str, cmd: PlaceOrder, *, with_fresh_offers: bool
) -> Order:
    scope, now = str(principal), platform.clock.now()
    with platform.uow() as uow:
        merchant = uow.merchants.get(merchant_id)
        if merchant is None:
            raise InvalidInput("unknown merchant", [Problem(("body", "merchant_id"), f"no merchant {merchant_id!r}")])
        lines = _resolve(platform, uow, scope, cmd, now)
        try:
            hold(uow, [(i + 1, line.offer) for i, line in enumerate(lines)], now, platform.settings.horizon_days)
        except CapacityGone as gone:
            uow.rollback()
            platform.capacity.invalidate()
            if with_fresh_offers:
                gone.extensions["fresh_offers"] = _fresh(platform, uow, scope, lines[gone.line_no - 1], cmd, principal)
                uow.commit()
            raise
        order = Order(
            id=uuid.uuid4(),
            merchant_id=merchant.id,
            channel=cmd.channel or merchant.channel,
            buyer=cmd.buyer,
            ship_to=cmd.ship_to,
            currency=lines[0].offer.currency,
            lines=[
                OrderLine(
                    uuid.uuid4(),
                    i + 1,
                    line.template,
                    line.options,
                    line.quantity,
                    line.unit_price,
                    factory_id=line.offer.factory_id,
                    promise=LinePromise(
                        line.offer.delivery_by,
                        line.offer.ship_at,
                        PromiseStatus.kept,
                        line.offer.region,
                        line.offer.factory_id,
                    ),
                )
                for i, line in enumerate(lines)
            ],
            created_at=now,
            updated_at=now,
        )
        order.history.append((order.status, now))
        order.advance_to(OrderStatus.allocated, now)
        placed = list(zip(order.lines, lines, strict=True))
        uow.emit(
            Event(
                "order.placed",
                f"order:{order.id}",
                {
                    "order_id": str(order.id),
                    "total": order.total,
                    "currency": order.currency,
                    "promises": [
                        {
                            "line_id": str(ol.id),
                            "delivery_by": line.offer.delivery_by.isoformat(),
                            "factory_id": line.offer.factory_id,
                            "region": line.offer.region,
                        }
                        for ol, line in placed
                    ],
                },
                now,
            )
        )
        uow.orders.add(
            order,
            (ReservationRow, reservation_rows([(ol.id, line.offer) for ol, line in placed])),
            (
                PromiseRow,
                [
                    {
                        "line_id": ol.id,
                        "order_id": order.id,
                        "factory_id": line.offer.factory_id,
                        "lane_id": line.offer.lane_id,
                        "ready_at": line.offer.ready_at,
                        "ship_at": line.offer.ship_at,
                        "delivery_by": line.offer.delivery_by,
                        "status": PromiseStatus.kept.value,
                        "updated_at": now,
                    }
                    for ol, line in placed
                ],
            ),
            used_offers([(line.offer_id, ol.id) for ol, line in placed if line.offer_id is not None]),
            uow.take_events(),  # the order's event travels in the order's statement
        )
        uow.commit()
    for line in lines:
        platform.capacity.applied(line.offer)
    for factory_id in sorted({line.offer.factory_id for line in lines}):
        platform.on_new_work(factory_id, False)
    return order


def _fresh(
    platform: Platform, uow: UnitOfWork, scope: str, line: _Line, cmd: PlaceOrder, principal: Principal
) -> list[dict[str, Any]]:
    template = uow.templates.get(line.template)
    assert template is not None
    plan = plan_line(platform, template, line.options, line.quantity, cmd.ship_to.country)
    try:
        offers = offers_for(platform, uow, plan)
    except PromiseRefused:
        return []
    return [
        offer_view(q, reveal_factory=principal.is_operator) for q in store_offers(platform, uow, scope, plan, offers)
    ]


def get_order(platform: Platform, principal: Principal, order_id: UUID) -> Order:
    with platform.uow() as uow:
        order = uow.orders.get(order_id)
    if order is None:
        require_role(principal, {Role.operator, Role.merchant}, "see orders")
        raise NotFound(f"order {order_id} not found")
    require_merchant_access(principal, order.merchant_id, f"order {order_id}")
    return order


def encode_cursor(order: Order) -> str:
    return base64.urlsafe_b64encode(f"{order.created_at.isoformat()}|{order.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), UUID(ident)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("bad cursor", [Problem(("query", "cursor"), "use the next_cursor of a page")]) from None


def list_orders(
    platform: Platform, principal: Principal, *, cursor: str | None, limit: int
) -> tuple[list[Order], str | None]:
    require_role(principal, {Role.operator, Role.merchant}, "list orders")
    after = decode_cursor(cursor) if cursor else None
    merchant_id = principal.subject if principal.role is Role.merchant else None
    with platform.uow() as uow:
        page = uow.orders.page(merchant_id=merchant_id, after=after, limit=limit + 1)
    more = len(page) > limit
    page = page[:limit]
    return page, encode_cursor(page[-1]) if more and page else None


def cancel_order(platform: Platform, principal: Principal, order_id: UUID) -> Order:
    with platform.uow() as uow:
        order = uow.orders.get(order_id, for_update=True)
        if order is None:
            require_role(principal, {Role.operator, Role.merchant}, "cancel orders")
            raise NotFound(f"order {order_id} not found")
        require_merchant_access(principal, order.merchant_id, f"order {order_id}")
        now = platform.clock.now()
        order.cancel(now)
        uow.orders.save(order)
        factories = {f.id: f for f in uow.factories.list()}
        release_line(uow.session, factories, [line.id for line in order.lines])
        for promise in uow.session.scalars(select(PromiseRow).where(PromiseRow.order_id == order.id)):
            promise.status, promise.updated_at = PromiseStatus.cancelled.value, now
        uow.emit(Event("order.cancelled", f"order:{order.id}", {"order_id": str(order.id)}, now))
        uow.commit()
    platform.capacity.invalidate()
    return order
