"""/v1/orders: merchants place and follow their orders; the operator sees them all."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from meshfab.api.deps import IdempotencyKey, PlatformDep, PrincipalDep, respond_once
from meshfab.api.observability import ORDERS_PLACED
from meshfab.api.schemas import OrderIn, OrderOut, OrderPage
from meshfab.services import orders

router = APIRouter(prefix="/v1/orders", tags=["orders"])


@router.post("", status_code=201, response_model=OrderOut)
def place_order(
    body: OrderIn,
    request: Request,
    platform: PlatformDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    def work() -> tuple[int, object]:
        cmd = orders.PlaceOrder(
            buyer=body.buyer,
            ship_to=body.ship_to,
            lines=[orders.LineRequest(x.template, x.options, x.quantity, x.offer_id) for x in body.lines],
            merchant_id=body.merchant_id,
            channel=body.channel,
        )
        order = orders.place_order(platform, principal, cmd)
        ORDERS_PLACED.inc()
        return 201, OrderOut.of(order, reveal_factory=principal.is_operator).model_dump(mode="json")

    return respond_once(request, platform, principal, key, body, work)


@router.get("", response_model=OrderPage)
def list_orders(
    platform: PlatformDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrderPage:
    page, next_cursor = orders.list_orders(platform, principal, cursor=cursor, limit=limit)
    return OrderPage(
        items=[OrderOut.of(o, reveal_factory=principal.is_operator) for o in page], next_cursor=next_cursor
    )


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: UUID, platform: PlatformDep, principal: PrincipalDep) -> OrderOut:
    return OrderOut.of(orders.get_order(platform, principal, order_id), reveal_factory=principal.is_operator)


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel_order(order_id: UUID, platform: PlatformDep, principal: PrincipalDep) -> OrderOut:
    return OrderOut.of(orders.cancel_order(platform, principal, order_id), reveal_factory=principal.is_operator)
