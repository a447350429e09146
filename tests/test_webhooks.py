"""Webhooks from the outbox: scoped to who may see them, signed, retried, disabled on 410, no SSRF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

from fastapi.testclient import TestClient
from sqlalchemy import select

from meshfab.clock import FixedClock
from meshfab.domain.principals import Principal
from meshfab.services import webhooks
from meshfab.services.platform import Platform
from meshfab.store.tables import WebhookDeliveryRow, WebhookEndpointRow
from tests.conftest import Keys
from tests.helpers import place_order_body

PUBLIC = "https://93.184.216.34/hooks"  # a global address; the tests never connect to it (fake sender)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, headers["webhook-signature"])


def test_private_addresses_are_refused_unless_the_operator_allows_them(client: TestClient, keys: Keys) -> None:
    for url in ["http://127.0.0.1:9/x", "http://10.0.0.8/x", "http://localhost/x", "ftp://93.184.216.34/x"]:
        refused = client.post("/v1/webhooks/endpoints", json={"url": url}, headers=keys("merchant:teamkit"))
        assert refused.status_code == 422, url
    sneaky = client.post(
        "/v1/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/x", "allow_private": True},
        headers=keys("merchant:teamkit"),
    )
    assert sneaky.status_code == 422
    allowed = client.post(
        "/v1/webhooks/endpoints", json={"url": "http://127.0.0.1:9/x", "allow_private": True}, headers=keys("operator")
    )
    assert allowed.status_code == 201 and allowed.json()["secret"].startswith("whsec_")


def test_events_reach_only_those_allowed_to_see_them_signed(client: TestClient, keys: Keys, demo: Platform) -> None:
    mine = webhooks.register(demo, Principal.parse("merchant:teamkit"), PUBLIC, ["order.placed"])
    theirs = webhooks.register(demo, Principal.parse("merchant:giftmarket"), PUBLIC, [])
    client.post("/v1/orders", json=place_order_body(client, keys("merchant:teamkit")), headers=keys("merchant:teamkit"))
    sent: list[tuple[str, dict[str, str], bytes]] = []
    webhooks.relay(demo, send=lambda url, headers, body: sent.append((url, headers, body)) or 204)
    assert len(sent) == 1
    _, headers, body = sent[0]
    assert verify(mine["secret"], headers, body) and not verify(theirs["secret"], headers, body)
    assert json.loads(body)["type"] == "order.placed"
    webhooks.relay(demo, send=lambda *a: sent.append(a) or 204)
    assert len(sent) == 1, "each event is delivered once"


def test_failures_are_retried_on_schedule_and_410_disables_the_endpoint(
    demo: Platform, client: TestClient, keys: Keys
) -> None:
    webhooks.register(demo, Principal.parse("merchant:teamkit"), PUBLIC, ["order.placed"])
    client.post("/v1/orders", json=place_order_body(client, keys("merchant:teamkit")), headers=keys("merchant:teamkit"))
    statuses = iter([500, 503])
    webhooks.relay(demo, send=lambda *a: next(statuses))
    assert isinstance(demo.clock, FixedClock)
    assert webhooks.deliver_due(demo, send=lambda *a: 200) == 0, "not due before the 5 s back-off"
    demo.clock.advance(timedelta(seconds=6))
    webhooks.deliver_due(demo, send=lambda *a: next(statuses))
    demo.clock.advance(timedelta(minutes=6))
    webhooks.deliver_due(demo, send=lambda *a: 410)
    with demo.uow() as uow:
        delivery = uow.session.scalars(select(WebhookDeliveryRow)).one()
        endpoint = uow.session.scalars(select(WebhookEndpointRow)).one()
        assert (delivery.attempts, delivery.status) == (3, "cancelled")
        assert endpoint.enabled is False and "410" in (endpoint.disabled_reason or "")


def test_a_real_delivery_over_http_to_a_local_receiver(demo: Platform, client: TestClient, keys: Keys) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        endpoint = webhooks.register(demo, Principal.parse("operator"), url, ["order.placed"], allow_private=True)
        client.post(
            "/v1/orders", json=place_order_body(client, keys("merchant:teamkit")), headers=keys("merchant:teamkit")
        )
        webhooks.relay(demo)
    finally:
        server.shutdown()
    assert len(received) == 1 and verify(endpoint["secret"], *received[0])
