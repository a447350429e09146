"""Orders over HTTP: place, read back, page, cancel; idempotency; problem+json for bad input."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meshfab.clock import FixedClock
from meshfab.services.platform import Platform
from meshfab.store.tables import OrderRow, OutboxRow
from tests.conftest import Keys
from tests.helpers import place_order_body

MERCHANT = "merchant:teamkit"


def count_orders(platform: Platform) -> int:
    with platform.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(OrderRow)) or 0


def test_placed_order_reads_back_with_lines_prices_and_an_outbox_event(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    headers = keys(MERCHANT)
    body = place_order_body(client, headers, quantity=3)
    created = client.post("/v1/orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "allocated" and order["merchant_id"] == "teamkit" and order["channel"] == "web"
    assert [h["status"] for h in order["history"]] == ["placed", "allocated"]
    line = order["lines"][0]
    assert line["quantity"] == 3 and line["unit_price"] > 0
    assert line["promise"]["status"] == "kept" and line["promise"]["region"]
    assert "factory_id" not in line and "factory_id" not in line["promise"]
    assert order["total"] == 3 * line["unit_price"]
    assert client.get(f"/v1/orders/{order['id']}", headers=headers).json() == order
    with demo.uow() as uow:
        events = uow.session.scalars(select(OutboxRow.type)).all()
    assert events == ["order.placed"]


def test_orders_page_with_a_cursor_newest_first_without_gaps(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT)
    body = place_order_body(client, headers)
    placed = []
    for _ in range(5):
        placed.append(client.post("/v1/orders", json=body, headers=headers).json()["id"])
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/orders", params=params, headers=headers).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(placed) and len(seen) == 5
    assert client.get("/v1/orders", params={"cursor": "garbage!"}, headers=headers).status_code == 422


def test_cancel_moves_to_cancelled_and_a_second_cancel_is_409(client: TestClient, keys: Keys) -> None:
    headers = keys(MERCHANT)
    order_id = client.post("/v1/orders", json=place_order_body(client, headers), headers=headers).json()["id"]
    first = client.post(f"/v1/orders/{order_id}/cancel", headers=headers)
    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    second = client.post(f"/v1/orders/{order_id}/cancel", headers=headers)
    assert second.status_code == 409
    assert second.json()["type"].endswith("illegal-transition")


def test_same_idempotency_key_and_body_replays_the_first_response(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    headers = keys(MERCHANT) | {"Idempotency-Key": "order-001"}
    body = place_order_body(client, keys(MERCHANT))
    first = client.post("/v1/orders", json=body, headers=headers)
    again = client.post("/v1/orders", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count_orders(demo) == 1


def test_same_key_with_another_body_is_422_and_changes_nothing(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT) | {"Idempotency-Key": "order-002"}
    body = place_order_body(client, keys(MERCHANT))
    assert client.post("/v1/orders", json=body, headers=headers).status_code == 201
    other = body | {"lines": [body["lines"][0] | {"quantity": 9}]}
    response = client.post("/v1/orders", json=other, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/header/Idempotency-Key"
    assert count_orders(demo) == 1


def test_a_key_past_the_replay_window_starts_afresh(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT) | {"Idempotency-Key": "order-003"}
    first = client.post("/v1/orders", json=place_order_body(client, keys(MERCHANT)), headers=headers)
    assert first.status_code == 201
    assert isinstance(demo.clock, FixedClock)
    demo.clock.advance(timedelta(hours=demo.settings.idempotency_hours, minutes=1))
    later = client.post("/v1/orders", json=place_order_body(client, keys(MERCHANT)), headers=headers)
    assert later.status_code == 201 and later.headers.get("Idempotent-Replayed") != "true"
    assert later.json()["id"] != first.json()["id"]
    body = place_order_body(client, keys(MERCHANT))
    other = body | {"lines": [body["lines"][0] | {"quantity": body["lines"][0]["quantity"] + 1}]}
    again = client.post("/v1/orders", json=other, headers=headers)
    assert again.status_code == 422  # inside the new window the key belongs to the second request
    assert count_orders(demo) == 2


def test_keys_are_scoped_to_the_caller(client: TestClient, keys: Keys, demo: Platform) -> None:
    body = place_order_body(client, keys(MERCHANT))
    first = client.post("/v1/orders", json=body, headers=keys(MERCHANT) | {"Idempotency-Key": "shared"})
    theirs = client.post("/v1/orders", json=body, headers=keys("merchant:giftmarket") | {"Idempotency-Key": "shared"})
    assert first.status_code == theirs.status_code == 201
    assert theirs.json()["merchant_id"] == "giftmarket" and theirs.json()["id"] != first.json()["id"]


def test_concurrent_duplicates_with_one_key_create_one_order(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT) | {"Idempotency-Key": "race-1"}
    body = place_order_body(client, keys(MERCHANT))
    barrier = threading.Barrier(8)

    def post(_: int) -> tuple[int, str | None]:
        barrier.wait()
        response = client.post("/v1/orders", json=body, headers=headers)
        return response.status_code, response.json().get("id")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(8)))
    statuses = sorted(s for s, _ in results)
    assert set(statuses) <= {201, 409}, statuses
    assert count_orders(demo) == 1
    ids = {i for s, i in results if s == 201}
    assert len(ids) == 1
    replay = client.post("/v1/orders", json=body, headers=headers)
    assert replay.status_code == 201 and replay.json()["id"] in ids


def test_a_refused_request_frees_its_key_for_a_corrected_retry(client: TestClient, keys: Keys, demo: Platform) -> None:
    headers = keys(MERCHANT) | {"Idempotency-Key": "fix-and-retry"}
    body = place_order_body(client, keys(MERCHANT))
    bad = body | {"lines": [body["lines"][0] | {"template": "no-such-template"}]}
    assert client.post("/v1/orders", json=bad, headers=headers).status_code == 422
    assert client.post("/v1/orders", json=body, headers=headers).status_code == 201
    assert count_orders(demo) == 1
