"""The authorisation matrix: every endpoint, every kind of principal, the exact status.

404 for objects the caller may not know about, 403 for actions its role may never take, 401 without a key.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Keys
from tests.helpers import place_order_body

OPERATOR, MINE, OTHER_MERCHANT = "operator", "merchant:teamkit", "merchant:giftmarket"
FACTORY, OTHER_FACTORY = "factory:yiwu-01", "factory:yiwu-02"


@pytest.fixture
def order_id(client: TestClient, keys: Keys) -> str:
    response = client.post("/v1/orders", json=place_order_body(client, keys(MINE)), headers=keys(MINE))
    assert response.status_code == 201, response.text
    return response.json()["id"]


# (method, path, body kind, {principal: expected status})
MATRIX = [
    ("GET", "/v1/templates", None, {OPERATOR: 200, MINE: 200, FACTORY: 200}),
    ("GET", "/v1/templates/team-shirt", None, {OPERATOR: 200, MINE: 200, FACTORY: 200}),
    ("POST", "/v1/templates", "template", {OPERATOR: 200, MINE: 403, FACTORY: 403}),
    ("GET", "/v1/factories", None, {OPERATOR: 200, MINE: 403, FACTORY: 200}),
    ("GET", "/v1/factories/yiwu-01", None, {OPERATOR: 200, MINE: 403, FACTORY: 200, OTHER_FACTORY: 404}),
    ("POST", "/v1/factories", "factory", {OPERATOR: 200, MINE: 403, FACTORY: 403}),
    ("POST", "/v1/factories/yiwu-01/status", "status", {OPERATOR: 200, MINE: 403, FACTORY: 200, OTHER_FACTORY: 404}),
    ("GET", "/v1/factories/yiwu-01/work-orders", None, {OPERATOR: 200, MINE: 403, FACTORY: 200, OTHER_FACTORY: 404}),
    ("GET", "/v1/lanes", None, {OPERATOR: 200, MINE: 200, FACTORY: 200}),
    ("POST", "/v1/lanes", "lane", {OPERATOR: 200, MINE: 403, FACTORY: 403}),
    ("POST", "/v1/orders", "order", {OPERATOR: 422, MINE: 201, FACTORY: 403}),
    ("GET", "/v1/orders", None, {OPERATOR: 200, MINE: 200, OTHER_MERCHANT: 200, FACTORY: 403}),
    ("GET", "/v1/orders/{order}", None, {OPERATOR: 200, MINE: 200, OTHER_MERCHANT: 404, FACTORY: 403}),
    ("POST", "/v1/orders/{order}/cancel", None, {MINE: 200, OTHER_MERCHANT: 404, FACTORY: 403}),
]


def body_for(kind: str | None, client: TestClient, keys: Keys) -> dict | None:
    op = keys(OPERATOR)
    if kind == "template":
        return client.get("/v1/templates/team-shirt", headers=op).json()
    if kind == "factory":
        raw = client.get("/v1/factories/yiwu-01", headers=op).json()
        return {
            "id": raw["id"],
            "name": raw["name"],
            "currency": raw["currency"],
            "location": {k: raw[k] for k in ("lat", "lon", "region", "country", "timezone")},
            "workcenters": raw["workcenters"],
            "calendar": raw["calendar"],
            "cost_per_minute": raw["cost_per_minute"],
            "min_lot": raw["min_lot"],
            "max_lot": raw["max_lot"],
            "status": raw["status"],
            "trust_score": raw["trust_score"],
        }
    if kind == "status":
        return {"status": "active"}
    if kind == "lane":
        return client.get("/v1/lanes", headers=op).json()[0]
    if kind == "order":
        return place_order_body(client, op)
    return None


@pytest.mark.parametrize(("method", "path", "kind", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_every_endpoint_answers_every_principal_exactly(
    client: TestClient, keys: Keys, order_id: str, method: str, path: str, kind: str | None, expected: dict[str, int]
) -> None:
    url = path.replace("{order}", order_id)
    body = body_for(kind, client, keys)
    unauthenticated = client.request(method, url, json=body)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == "application/problem+json"
    for principal, status in expected.items():
        response = client.request(method, url, json=body, headers=keys(principal))
        assert response.status_code == status, (principal, response.text)
        if status >= 400:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == status


def test_a_bad_or_malformed_key_is_401(client: TestClient, keys: Keys) -> None:
    good = keys(OPERATOR)["Authorization"]
    for header in [good[:-2] + "xx", "Bearer mf_nope", "Basic abc", good.replace("Bearer ", "")]:
        assert client.get("/v1/templates", headers={"Authorization": header}).status_code == 401


def test_a_factory_lists_only_itself(client: TestClient, keys: Keys) -> None:
    listed = client.get("/v1/factories", headers=keys(FACTORY)).json()
    assert [f["id"] for f in listed] == ["yiwu-01"]
    assert len(client.get("/v1/factories", headers=keys(OPERATOR)).json()) >= 30


def test_a_merchant_lists_only_its_own_orders(client: TestClient, keys: Keys, order_id: str) -> None:
    mine = client.get("/v1/orders", headers=keys(MINE)).json()["items"]
    theirs = client.get("/v1/orders", headers=keys(OTHER_MERCHANT)).json()["items"]
    assert [o["id"] for o in mine] == [order_id]
    assert theirs == []


def test_a_merchant_cannot_place_an_order_for_another_merchant(client: TestClient, keys: Keys) -> None:
    body = place_order_body(client, keys(MINE)) | {"merchant_id": "giftmarket"}
    response = client.post("/v1/orders", json=body, headers=keys(MINE))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/body/merchant_id"
