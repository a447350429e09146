"""Quotes and promise-keeping intake over HTTP, on the demo world and real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from meshfab.clock import FixedClock
from meshfab.services.platform import Platform
from meshfab.store.capacity import lock_buckets
from meshfab.store.tables import BucketRow, OutboxRow, PromiseRow, ReservationRow
from tests.conftest import Keys
from tests.helpers import SHIP_TO, complete_options

MERCHANT = "merchant:teamkit"


def quote(
    client: TestClient, headers: dict[str, str], template: str = "team-shirt", quantity: int = 5, country: str = "GB"
) -> object:
    body = {
        "template": template,
        "options": complete_options(client, headers, template),
        "quantity": quantity,
        "ship_to": SHIP_TO | {"country": country},
    }
    return client.post("/v1/quotes", json=body, headers=headers)


def order_with_offer(offer_id: str, country: str = "GB") -> dict:
    return {
        "buyer": {"name": "Ada", "email": "ada@example.com"},
        "ship_to": SHIP_TO | {"country": country},
        "lines": [{"offer_id": offer_id}],
    }


def reserved_total(platform: Platform) -> tuple[int, int]:
    with platform.uow() as uow:
        buckets = uow.session.scalar(select(func.coalesce(func.sum(BucketRow.reserved), 0)))
        held = uow.session.scalar(select(func.coalesce(func.sum(ReservationRow.minutes), 0)))
    return int(buckets or 0), int(held or 0)


def test_quote_offers_fastest_and_cheapest_with_region_not_factory(client: TestClient, keys: Keys) -> None:
    response = quote(client, keys(MERCHANT))
    assert response.status_code == 200, response.text
    offers = response.json()["offers"]
    labels = {label for o in offers for label in o["labels"]}
    assert {"fastest", "cheapest"} <= labels
    fastest = next(o for o in offers if "fastest" in o["labels"])
    cheapest = next(o for o in offers if "cheapest" in o["labels"])
    assert fastest["delivery_by"] <= cheapest["delivery_by"]
    assert cheapest["price"]["amount"] <= fastest["price"]["amount"]
    for offer in offers:
        assert "factory_id" not in offer and offer["region"]
        assert offer["price"]["amount"] == offer["product_price"]["amount"] + offer["shipping_price"]["amount"]
        assert offer["expires_at"] > offer["ship_at"][:0]  # present and ISO formatted
    operator_view = quote(client, keys("operator")).json()["offers"][0]
    assert operator_view["factory_id"] and operator_view["lane_id"]


def test_the_platform_hand_over_margin_makes_every_promise_later(
    client: TestClient, keys: Keys, platform: Platform
) -> None:
    before = quote(client, keys(MERCHANT)).json()["offers"]
    platform.settings.handover_margin_minutes = 1439  # no line is ready a whole day before its own day's cutoff
    after = quote(client, keys(MERCHANT)).json()["offers"]
    assert min(o["delivery_by"] for o in after) > min(o["delivery_by"] for o in before)
    assert min(o["ship_at"] for o in after) > min(o["ship_at"] for o in before)


def test_unserved_country_and_impossible_quantity_are_409_with_a_reason(client: TestClient, keys: Keys) -> None:
    headers = keys(MERCHANT)
    unserved = quote(client, headers, country="IS")
    assert unserved.status_code == 409 and unserved.json()["reason"] == "country_not_served"
    too_big = quote(client, headers, template="made-to-measure-shirt", quantity=100_000)
    assert too_big.status_code == 409 and too_big.json()["reason"] == "capacity_exhausted"


def test_no_capable_factory_when_every_medal_maker_is_dark(client: TestClient, keys: Keys, demo: Platform) -> None:
    op = keys("operator")
    options = complete_options(client, op, "medal")
    for factory in client.get("/v1/factories", headers=op).json():
        if {"cast", "dye"} <= {w["capability"] for w in factory["workcenters"]}:
            assert client.post(f"/v1/factories/{factory['id']}/status", json={"status": "dark"}, headers=op).is_success
    body = {"template": "medal", "options": options, "quantity": 10, "ship_to": SHIP_TO}
    refused = client.post("/v1/quotes", json=body, headers=keys(MERCHANT))
    assert refused.status_code == 409 and refused.json()["reason"] == "no_capable_factory"


def test_placing_an_offer_reserves_its_minutes_and_stores_the_promise(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    headers = keys(MERCHANT)
    offer = quote(client, headers).json()["offers"][0]
    placed = client.post("/v1/orders", json=order_with_offer(offer["offer_id"]), headers=headers)
    assert placed.status_code == 201, placed.text
    line = placed.json()["lines"][0]
    assert line["promise"]["delivery_by"] == offer["delivery_by"] and line["promise"]["region"] == offer["region"]
    buckets, held = reserved_total(demo)
    assert buckets == held > 0
    with demo.uow() as uow:
        promise = uow.session.get(PromiseRow, line["id"])
        assert promise is not None and promise.delivery_by.isoformat() == offer["delivery_by"]
        assert "order.placed" in uow.session.scalars(select(OutboxRow.type)).all()
    again = client.post("/v1/orders", json=order_with_offer(offer["offer_id"]), headers=headers)
    assert again.status_code == 409


def test_expired_foreign_and_wrong_country_offers_are_rejected(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT)
    offer_id = quote(client, headers).json()["offers"][0]["offer_id"]
    foreign = client.post("/v1/orders", json=order_with_offer(offer_id), headers=keys("merchant:giftmarket"))
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["pointer"] == "/body/lines/0/offer_id"
    elsewhere = client.post("/v1/orders", json=order_with_offer(offer_id, country="US"), headers=headers)
    assert elsewhere.status_code == 422
    assert isinstance(demo.clock, FixedClock)
    demo.clock.advance(timedelta(minutes=16))
    expired = client.post("/v1/orders", json=order_with_offer(offer_id), headers=headers)
    assert expired.status_code == 409 and expired.json()["type"].endswith("offer-expired")
    assert reserved_total(demo) == (0, 0)


def fill_every_bucket(platform: Platform, days: int) -> None:
    with platform.uow() as uow:
        factories = {f.id: f for f in uow.factories.list()}
        start = min(f.local_day(platform.clock.now()) for f in factories.values())
        keys = [
            (f.id, w.capability, start + timedelta(days=d))
            for f in factories.values()
            for w in f.workcenters
            for d in range(days)
        ]
        lock_buckets(uow.session, factories, keys)
        uow.session.execute(update(BucketRow).values(reserved=BucketRow.available))
        uow.commit()


def test_capacity_gone_meanwhile_is_409_with_a_fresh_offer_and_nothing_reserved(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    headers = keys(MERCHANT)
    offer = quote(client, headers).json()["offers"][0]
    fill_every_bucket(demo, days=30)  # another process takes every minute in the meantime
    refused = client.post("/v1/orders", json=order_with_offer(offer["offer_id"]), headers=headers)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"].endswith("capacity-gone")
    fresh = problem["fresh_offers"]
    assert fresh and all(o["offer_id"] != offer["offer_id"] for o in fresh)
    assert "factory_id" not in fresh[0] and min(o["delivery_by"] for o in fresh) > offer["delivery_by"]
    with demo.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(ReservationRow)) == 0
    retry = client.post("/v1/orders", json=order_with_offer(fresh[0]["offer_id"]), headers=headers)
    assert retry.status_code == 201, retry.text


def test_cancelling_releases_the_reserved_minutes(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT)
    offer_id = quote(client, headers, quantity=20).json()["offers"][0]["offer_id"]
    order = client.post("/v1/orders", json=order_with_offer(offer_id), headers=headers).json()
    assert reserved_total(demo)[0] > 0
    assert client.post(f"/v1/orders/{order['id']}/cancel", headers=headers).status_code == 200
    assert reserved_total(demo) == (0, 0)
    assert (
        client.get(f"/v1/orders/{order['id']}", headers=headers).json()["lines"][0]["promise"]["status"] == "cancelled"
    )


def test_a_dark_factory_or_a_closed_day_puts_its_promises_at_risk(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    headers, op = keys(MERCHANT), keys("operator")
    first = quote(client, op).json()["offers"][0]
    order = client.post(
        "/v1/orders", json=order_with_offer(quote(client, headers).json()["offers"][0]["offer_id"]), headers=headers
    ).json()
    with demo.uow() as uow:
        promise = uow.session.get(PromiseRow, order["lines"][0]["id"])
        assert promise is not None
        factory_id = promise.factory_id
        day = uow.session.scalars(select(ReservationRow.day).where(ReservationRow.line_id == promise.line_id)).first()
    assert first["factory_id"]
    closed = client.post(
        f"/v1/factories/{factory_id}/closures", json={"day": day.isoformat()}, headers=keys(f"factory:{factory_id}")
    )
    assert closed.status_code == 200 and closed.json()["promises_at_risk"] == 1
    line = client.get(f"/v1/orders/{order['id']}", headers=headers).json()["lines"][0]
    assert line["promise"]["status"] == "at_risk"
    with demo.uow() as uow:
        events = uow.session.scalars(select(OutboxRow).where(OutboxRow.type == "promise.at_risk")).all()
        assert [e.payload["line_id"] for e in events] == [order["lines"][0]["id"]]
        assert not uow.session.scalars(
            select(BucketRow).where(BucketRow.factory_id == factory_id, BucketRow.day == day, BucketRow.available > 0)
        ).all()
    other = quote(client, headers).json()["offers"]
    assert all(o["delivery_by"] for o in other)


def test_going_dark_flags_every_kept_promise_of_the_factory(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT)
    order = client.post(
        "/v1/orders", json=order_with_offer(quote(client, headers).json()["offers"][0]["offer_id"]), headers=headers
    ).json()
    with demo.uow() as uow:
        factory_id = uow.session.get(PromiseRow, order["lines"][0]["id"]).factory_id  # type: ignore[union-attr]
    response = client.post(f"/v1/factories/{factory_id}/status", json={"status": "dark"}, headers=keys("operator"))
    assert response.status_code == 200
    assert client.get(f"/v1/orders/{order['id']}", headers=headers).json()["lines"][0]["promise"]["status"] == "at_risk"


def test_closing_a_past_day_is_refused(client: TestClient, keys: Keys) -> None:
    response = client.post("/v1/factories/yiwu-01/closures", json={"day": "2020-01-01"}, headers=keys("operator"))
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/body/day"


def test_a_line_whose_box_no_carrier_takes_is_refused_at_the_quote(client: TestClient, keys: Keys) -> None:
    """The quote prices the parcels a line fills; a box over the 30 kg parcel limit cannot ship at all."""
    op = keys("operator")
    heavy = client.get("/v1/templates/flag", headers=op).json() | {"key": "stone-flag", "weight_grams": "800"}
    assert client.post("/v1/templates", json=heavy, headers=op).status_code == 201
    headers = keys(MERCHANT)
    assert quote(client, headers, "stone-flag", quantity=30).status_code == 200  # one box of 24.6 kg
    refused = quote(client, headers, "stone-flag", quantity=40)  # a full box: 32.6 kg
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (
        problem["errors"][0]["pointer"] == "/body/quantity" and "30000 g parcel limit" in problem["errors"][0]["detail"]
    )
