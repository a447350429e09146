"""The storefront: a merchant's own web shop, acting for the merchant named in the URL.

The buyer holds no key; the shop acts through a server-side merchant principal, exactly as the merchant's
backend would through the API. Every change of a choice re-configures (values still possible, reasons for the
others, running price) and, once the product is complete and a country is chosen, quotes real offers.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from meshfab.domain.errors import DomainError, InvalidInput, Problem
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer, Merchant
from meshfab.domain.principals import Principal, Role
from meshfab.services import catalog, dashboard, orders, promise, storefront
from meshfab.web.common import csrf_ok, error_page, new_token, page, platform_of, secure

router = APIRouter(prefix="/shop", include_in_schema=False)
CSRF_COOKIE = "mf_shop_csrf"
ADDRESS_FIELDS = ("name", "line1", "city", "postal_code")


def _merchant(request: Request, merchant_id: str) -> tuple[Merchant, Principal]:
    merchant = dashboard.get_merchant(platform_of(request), merchant_id)
    return merchant, Principal(Role.merchant, merchant.id)


def _with_csrf(request: Request, response: Response, token: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE, token, path="/shop", httponly=True, samesite="strict", secure=secure(request), max_age=86400
    )
    return response


def _number(text: str) -> int | float | str:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return int(value) if value == value.to_integral_value() else float(value)


def read_choices(form: dict[str, Any]) -> dict[str, Any]:
    """Form fields `opt.<key>` to configurator choices; empty fields are choices not made yet."""
    choices: dict[str, Any] = {}
    for name, raw in form.items():
        if not name.startswith("opt.") or not isinstance(raw, str) or not raw.strip():
            continue
        key, kind = name[4:].partition(":")[::2]
        choices[key] = _number(raw.strip()) if kind == "number" else raw.strip()
    return choices


def _quantity(text: Any) -> int:
    try:
        return max(1, min(10_000, int(str(text))))
    except ValueError:
        return 1


@router.get("/{merchant_id}")
def shop_home(request: Request, merchant_id: str) -> Response:
    try:
        merchant, _ = _merchant(request, merchant_id)
    except DomainError as exc:
        return error_page(request, exc)
    items = catalog.list_templates(platform_of(request))
    return page(request, "shop_home.html", {"merchant": merchant, "templates": items})


def _live(request: Request, merchant: Merchant, key: str, form: dict[str, Any]) -> dict[str, Any]:
    """Everything the live part of the product page shows for the choices in `form`."""
    platform = platform_of(request)
    quantity, country = _quantity(form.get("quantity", 1)), str(form.get("country") or "")
    choices = read_choices(form)
    try:
        view = storefront.configure_page(platform, key, choices, quantity)
    except InvalidInput as exc:  # malformed input (a word in a number field): show it as a violation
        view = storefront.configure_page(platform, key, {}, quantity)
        return {"view": view, "quantity": quantity, "offers": [], "refusal": None, "input_problems": exc.problems}
    offers, refusal = [], None
    if view.configuration.valid and country:
        try:
            quoted = promise.quote(platform, f"merchant:{merchant.id}", key, choices, quantity, country)
            offers = [promise.offer_view(q, reveal_factory=False) for q in quoted]
        except DomainError as exc:
            refusal = exc.detail
    return {"view": view, "quantity": quantity, "offers": offers, "refusal": refusal, "input_problems": []}


@router.get("/{merchant_id}/{key}")
def product(request: Request, merchant_id: str, key: str) -> Response:
    try:
        merchant, _ = _merchant(request, merchant_id)
        live = _live(request, merchant, key, {"quantity": "10"})
    except DomainError as exc:
        return error_page(request, exc)
    token = request.cookies.get(CSRF_COOKIE) or new_token()
    context = {
        "merchant": merchant,
        "csrf": token,
        "countries": dashboard.destination_countries(platform_of(request)),
        **live,
    }
    return _with_csrf(request, page(request, "shop_product.html", context), token)


@router.post("/{merchant_id}/{key}/configure")
async def configure(request: Request, merchant_id: str, key: str) -> Response:
    form = dict((await request.form()).items())
    try:
        merchant, _ = _merchant(request, merchant_id)
        live = _live(request, merchant, key, form)
    except DomainError as exc:
        return error_page(request, exc)
    return page(request, "shop_live.html", {"merchant": merchant, **live})


@router.post("/{merchant_id}/{key}/order")
async def place(request: Request, merchant_id: str, key: str) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not csrf_ok(request.cookies.get(CSRF_COOKIE, ""), request, form.get("csrf")):
        return error_page(request, "This form has expired; reload the page and try again.", 403)
    try:
        merchant, principal = _merchant(request, merchant_id)
        if not form.get("offer_id"):
            raise InvalidInput("choose a delivery offer first", [Problem(("offer_id",), "no offer was chosen")])
        try:
            buyer = Buyer(name=form.get("ship_name", ""), email=form.get("buyer_email", ""))
            fields = {f: form.get(f"ship_{f}", "") for f in ADDRESS_FIELDS}
            ship_to = Address(**fields, country=form.get("country", ""))
            offer_id = UUID(form["offer_id"])
        except (ValidationError, ValueError) as exc:
            raise InvalidInput("please check the delivery details", _problems(exc)) from None
        cmd = orders.PlaceOrder(buyer=buyer, ship_to=ship_to, lines=[orders.LineRequest(offer_id=offer_id)])
        order = orders.place_order(platform_of(request), principal, cmd)
    except DomainError as exc:
        return error_page(request, exc)
    return RedirectResponse(f"/shop/{merchant.id}/orders/{order.id}", status_code=303)


def _problems(exc: Exception) -> list[Problem]:
    if isinstance(exc, ValidationError):
        return [Problem(tuple(str(p) for p in e["loc"]), f"{e['loc'][-1]}: {e['msg']}") for e in exc.errors()]
    return [Problem(("offer_id",), "not a valid offer")]


TIMELINE = ("placed", "allocated", "in_production", "produced", "shipped", "delivered")


@router.get("/{merchant_id}/orders/{order_id}")
def order_page(request: Request, merchant_id: str, order_id: UUID) -> Response:
    platform = platform_of(request)
    try:
        merchant, principal = _merchant(request, merchant_id)
        order = orders.get_order(platform, principal, order_id)
        parcels = dashboard.order_parcels(platform, principal, order_id)
    except DomainError as exc:
        return error_page(request, exc)
    reached = {status.value: at for status, at in order.history}
    steps = [{"status": s, "at": reached.get(s), "done": s in reached} for s in TIMELINE]
    context = {"merchant": merchant, "order": order, "steps": steps, "parcels": parcels}
    return page(request, "shop_order.html", context)
