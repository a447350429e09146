"""Webhooks from the outbox, by the Standard Webhooks specification.

Every event committed to the outbox is fanned out to the endpoints whose owner may see it (a factory sees its
own work orders and parcels, a merchant its own orders and promises, the operator everything), then delivered
at least once with `webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
`id.timestamp.body` under the endpoint's `whsec_` secret). A failed delivery is retried on the spec's schedule
(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) and then given up; an endpoint that answers 410 Gone is disabled.
Endpoints on private, loopback or link-local addresses are refused unless the operator allowed it (SSRF).
Rows are claimed with `FOR UPDATE SKIP LOCKED`, so several relays (one per API process) share the work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from meshfab.domain.errors import InvalidInput, Problem
from meshfab.domain.principals import Principal
from meshfab.services.platform import Platform
from meshfab.store.tables import OrderRow, OutboxRow, WebhookDeliveryRow, WebhookEndpointRow

RETRIES = [
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
]
Sender = Callable[[str, dict[str, str], bytes], int]


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _is_private(host: str) -> bool:
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        return True  # an address we cannot resolve is not one we will call
    return any(not ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses)


def register(
    platform: Platform, principal: Principal, url: str, event_types: list[str], allow_private: bool = False
) -> dict[str, Any]:
    """A new endpoint for the caller; the secret is shown once."""
    parts = urlsplit(url)
    problems = []
    if parts.scheme not in ("https", "http") or not parts.hostname:
        problems.append(Problem(("body", "url"), "an absolute http(s) URL"))
    if allow_private and not principal.is_operator:
        problems.append(Problem(("body", "allow_private"), "only the operator may allow private addresses"))
    if not problems and not allow_private and _is_private(parts.hostname or ""):
        problems.append(Problem(("body", "url"), "private, loopback and link-local addresses are refused"))
    if problems:
        raise InvalidInput("the endpoint cannot be registered", problems)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    row = WebhookEndpointRow(
        id=uuid.uuid4(),
        principal=str(principal),
        url=url,
        secret=secret,
        event_types=sorted(set(event_types)),
        allow_private=allow_private,
        enabled=True,
        created_at=platform.clock.now(),
    )
    with platform.uow() as uow:
        uow.session.add(row)
        uow.commit()
    return {"id": str(row.id), "url": url, "event_types": row.event_types, "secret": secret}


def list_endpoints(platform: Platform, principal: Principal) -> list[dict[str, Any]]:
    with platform.uow() as uow:
        rows = uow.session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.principal == str(principal)))
        return [
            {
                "id": str(r.id),
                "url": r.url,
                "event_types": r.event_types,
                "enabled": r.enabled,
                "disabled_reason": r.disabled_reason,
            }
            for r in rows
        ]


def _audience(event: OutboxRow, merchants: dict[str, str]) -> set[str]:
    """Who may see an event besides the operator."""
    seen = {"operator"}
    factory = event.payload.get("factory_id")
    if factory:
        seen.add(f"factory:{factory}")
    order_id = event.payload.get("order_id")
    if order_id and order_id in merchants:
        seen.add(f"merchant:{merchants[order_id]}")
    return seen


def fan_out(platform: Platform, *, batch: int = 200) -> int:
    """Turn committed outbox events into pending deliveries, once per event."""
    now = platform.clock.now()
    with platform.uow() as uow:
        events = list(
            uow.session.scalars(
                select(OutboxRow)
                .where(OutboxRow.published_at.is_(None))
                .order_by(OutboxRow.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if not events:
            return 0
        endpoints = list(uow.session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.enabled)))
        order_ids = {e.payload.get("order_id") for e in events if e.payload.get("order_id")}
        merchants = {
            str(i): m
            for i, m in uow.session.execute(
                select(OrderRow.id, OrderRow.merchant_id).where(
                    OrderRow.id.in_([uuid.UUID(x) for x in order_ids if isinstance(x, str)])
                )
            )
        }
        for event in events:
            audience = _audience(event, merchants)
            for endpoint in endpoints:
                wanted = not endpoint.event_types or event.type in endpoint.event_types
                if wanted and endpoint.principal in audience:
                    uow.session.add(
                        WebhookDeliveryRow(
                            endpoint_id=endpoint.id,
                            outbox_id=event.id,
                            attempts=0,
                            status="pending",
                            next_attempt_at=now,
                        )
                    )
            event.published_at = now
        uow.commit()
        return len(events)


def http_sender(url: str, headers: dict[str, str], body: bytes) -> int:
    return httpx.post(url, content=body, headers=headers, timeout=5.0, follow_redirects=False).status_code


def deliver_due(platform: Platform, *, send: Sender = http_sender, batch: int = 50) -> int:
    """Attempt every delivery that is due; returns how many attempts were made."""
    now = platform.clock.now()
    with platform.uow() as uow:
        due = list(
            uow.session.scalars(
                select(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.next_attempt_at <= now)
                .order_by(WebhookDeliveryRow.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        for delivery in due:
            endpoint = uow.session.get(WebhookEndpointRow, delivery.endpoint_id)
            event = uow.session.get(OutboxRow, delivery.outbox_id)
            assert endpoint is not None and event is not None
            _attempt(delivery, endpoint, event, now, send)
        uow.commit()
        return len(due)


def _attempt(
    delivery: WebhookDeliveryRow, endpoint: WebhookEndpointRow, event: OutboxRow, now: datetime, send: Sender
) -> None:
    delivery.attempts += 1
    if not endpoint.enabled:
        delivery.status, delivery.last_error = "cancelled", endpoint.disabled_reason
        return
    message_id = f"msg_{event.id}"
    timestamp = int(now.timestamp())
    body = json.dumps(
        {"type": event.type, "timestamp": event.occurred_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
        default=str,
    ).encode()
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(endpoint.secret, message_id, timestamp, body),
    }
    try:
        if not endpoint.allow_private and _is_private(urlsplit(endpoint.url).hostname or ""):
            raise ConnectionRefusedError("the endpoint now resolves to a private address")
        status = send(endpoint.url, headers, body)
        delivery.last_status, delivery.last_error = status, None
    except (httpx.HTTPError, OSError) as exc:
        status, delivery.last_error = 0, str(exc)[:500]
    if 200 <= status < 300:
        delivery.status = "succeeded"
    elif status == 410:
        delivery.status = "cancelled"
        endpoint.enabled, endpoint.disabled_reason = False, "the endpoint answered 410 Gone"
    elif delivery.attempts > len(RETRIES):
        delivery.status = "failed"
    else:
        delivery.next_attempt_at = now + RETRIES[delivery.attempts - 1]


def relay(platform: Platform, *, send: Sender = http_sender) -> tuple[int, int]:
    """One pass of the relay: fan out new events, then deliver what is due."""
    return fan_out(platform), deliver_due(platform, send=send)
