"""Order use cases: place, read, list, cancel. Each is one transaction and emits its outbox event."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from meshfab.domain.errors import InvalidInput, NotFound, Problem
from meshfab.domain.events import Event
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer, Channel
from meshfab.domain.orders import Order, OrderLine
from meshfab.domain.principals import Principal, Role
from meshfab.engines.configurator import configure
from meshfab.services.access import require_merchant_access, require_role
from meshfab.services.platform import Platform
from meshfab.store.uow import UnitOfWork


@dataclass(frozen=True)
class LineRequest:
    template: str
    options: dict[str, Any]
    quantity: int


@dataclass(frozen=True)
class PlaceOrder:
    buyer: Buyer
    ship_to: Address
    lines: list[LineRequest]
    merchant_id: str | None = None
    channel: Channel | None = None


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


def price_lines(uow: UnitOfWork, lines: list[LineRequest]) -> tuple[list[OrderLine], str]:
    """Configure every line; collect every problem of every line before refusing.

    One order is one currency: the first line's template sets it and every other line must match.
    """
    currency: str | None = None
    problems: list[Problem] = []
    priced: list[OrderLine] = []
    for i, line in enumerate(lines):
        where = ("body", "lines", i)
        template = uow.templates.get(line.template)
        if template is None:
            problems.append(Problem((*where, "template"), f"unknown template {line.template!r}"))
            continue
        if currency is not None and template.currency != currency:
            problems.append(
                Problem((*where, "template"), f"priced in {template.currency}, order is {currency}")
            )
            continue
        try:
            result = configure(template, line.options, quantity=line.quantity)
        except InvalidInput as exc:
            problems += [Problem((*where, "options", *p.loc), p.msg) for p in exc.problems] or [
                Problem((*where, "options"), exc.detail)
            ]
            continue
        if not result.valid:
            problems += [Problem((*where, "options"), v.message) for v in result.violations] or [
                Problem((*where, "options"), "configuration is incomplete")
            ]
            continue
        priced.append(
            OrderLine(
                id=uuid.uuid4(),
                line_no=i + 1,
                template_key=template.key,
                options=dict(line.options),
                quantity=line.quantity,
                unit_price=result.price.unit,
            )
        )
        currency = template.currency
    if problems:
        raise InvalidInput("the order cannot be placed as given", problems)
    assert currency is not None
    return priced, currency


def place_order(platform: Platform, principal: Principal, cmd: PlaceOrder) -> Order:
    merchant_id = _merchant_for(principal, cmd.merchant_id)
    now = platform.clock.now()
    with platform.uow() as uow:
        merchant = uow.merchants.get(merchant_id)
        if merchant is None:
            raise InvalidInput(
                "unknown merchant", [Problem(("body", "merchant_id"), f"no merchant {merchant_id!r}")]
            )
        lines, currency = price_lines(uow, cmd.lines)
        order = Order(
            id=uuid.uuid4(),
            merchant_id=merchant.id,
            channel=cmd.channel or merchant.channel,
            buyer=cmd.buyer,
            ship_to=cmd.ship_to,
            currency=currency,
            lines=lines,
            created_at=now,
            updated_at=now,
        )
        order.history.append((order.status, now))
        uow.orders.add(order)
        uow.emit(
            Event(
                "order.placed",
                f"order:{order.id}",
                {"order_id": str(order.id), "total": order.total, "currency": order.currency},
                now,
            )
        )
        uow.commit()
    return order


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
        raise InvalidInput(
            "bad cursor", [Problem(("query", "cursor"), "use the next_cursor of a page")]
        ) from None


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
        uow.emit(Event("order.cancelled", f"order:{order.id}", {"order_id": str(order.id)}, now))
        uow.commit()
    return order
