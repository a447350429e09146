"""No input may produce a 500: every bad request is a 4xx problem+json naming what and where."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from meshfab.services.platform import Platform
from tests.conftest import Keys
from tests.helpers import place_order_body
from tests.test_api_orders import count_orders

MERCHANT = "merchant:teamkit"


def assert_problem(response, status: int, pointer: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys() and body["status"] == status
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body["errors"]], body
    return body


def test_malformed_json_is_422(client: TestClient, keys: Keys) -> None:
    response = client.post(
        "/v1/orders", content=b'{"lines": [', headers=keys(MERCHANT) | {"content-type": "application/json"}
    )
    assert_problem(response, 422)


@pytest.mark.parametrize(
    ("mutate", "pointer"),
    [
        (lambda b: b | {"status": "delivered"}, "/body/status"),
        (lambda b: b | {"lines": [b["lines"][0] | {"quantity": -1}]}, "/body/lines/0/quantity"),
        (lambda b: b | {"lines": [b["lines"][0] | {"quantity": "many"}]}, "/body/lines/0/quantity"),
        (lambda b: b | {"lines": [b["lines"][0] | {"unit_price": 1}]}, "/body/lines/0/unit_price"),
        (lambda b: b | {"lines": [b["lines"][0] | {"factory_id": "yiwu-01"}]}, "/body/lines/0/factory_id"),
        (lambda b: b | {"lines": [b["lines"][0] | {"template": "nope"}]}, "/body/lines/0/template"),
        (lambda b: b | {"lines": []}, "/body/lines"),
        (lambda b: b | {"ship_to": b["ship_to"] | {"country": "XX"}}, "/body/ship_to/country"),
        (lambda b: b | {"ship_to": b["ship_to"] | {"city": "x" * 100_000}}, "/body/ship_to/city"),
        (lambda b: b | {"buyer": {"name": "A", "email": "not-an-email"}}, "/body/buyer/email"),
        (lambda b: {k: v for k, v in b.items() if k != "buyer"}, "/body/buyer"),
    ],
    ids=[
        "status",
        "negative-qty",
        "qty-type",
        "price",
        "factory",
        "unknown-template",
        "no-lines",
        "country",
        "huge-string",
        "email",
        "missing-buyer",
    ],
)
def test_bad_orders_name_the_field_and_store_nothing(
    client: TestClient,
    keys: Keys,
    demo: Platform,
    mutate,
    pointer: str,  # type: ignore[no-untyped-def]
) -> None:
    body = mutate(place_order_body(client, keys(MERCHANT)))
    assert_problem(client.post("/v1/orders", json=body, headers=keys(MERCHANT)), 422, pointer)
    assert count_orders(demo) == 0


def test_invalid_options_report_every_violation(client: TestClient, keys: Keys) -> None:
    body = place_order_body(client, keys(MERCHANT))
    body["lines"][0]["options"] = {"no_such_option": 1}
    problem = assert_problem(client.post("/v1/orders", json=body, headers=keys(MERCHANT)), 422)
    assert any(e["pointer"].startswith("/body/lines/0/options") for e in problem["errors"])


def test_unknown_ids_are_404_problems(client: TestClient, keys: Keys) -> None:
    op = keys("operator")
    assert_problem(client.get("/v1/templates/nope", headers=op), 404)
    assert_problem(client.get("/v1/factories/nope", headers=op), 404)
    assert_problem(client.get("/v1/orders/00000000-0000-0000-0000-000000000000", headers=op), 404)
    assert_problem(client.get("/v1/orders/not-a-uuid", headers=op), 422, "/path/order_id")
    assert_problem(client.post("/v1/factories/nope/status", json={"status": "dark"}, headers=op), 404)
    assert_problem(client.get("/v1/nowhere", headers=op), 404)


def test_bad_status_value_and_oversized_body(client: TestClient, keys: Keys) -> None:
    op = keys("operator")
    assert_problem(
        client.post("/v1/factories/yiwu-01/status", json={"status": "asleep"}, headers=op), 422, "/body/status"
    )
    huge = b'{"x": "' + b"a" * 2_000_000 + b'"}'
    response = client.post("/v1/orders", content=huge, headers=op | {"content-type": "application/json"})
    assert_problem(response, 413)


def test_invalid_factory_document_is_rejected_with_paths(client: TestClient, keys: Keys) -> None:
    bad = {
        "id": "Bad Id!",
        "name": "",
        "location": {},
        "workcenters": [],
        "calendar": {"shifts": []},
        "currency": "usd",
        "cost_per_minute": {},
        "surprise": True,
    }
    problem = assert_problem(client.post("/v1/factories", json=bad, headers=keys("operator")), 422)
    pointers = {e["pointer"] for e in problem["errors"]}
    assert {"/body/id", "/body/name", "/body/currency", "/body/surprise"} <= pointers
