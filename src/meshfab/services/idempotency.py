"""Idempotency keys for POSTs that create: a retried request never doubles an effect.

The key is claimed in its own committed transaction before the work starts, so a concurrent duplicate
sees the claim at once (409 while running) instead of racing. The first response is stored and replayed
for the same caller and body; a different body under the same key is a client bug (422). A request that
is refused or fails had no effect, so it releases its claim and the client may retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, null, update
from sqlalchemy.dialects.postgresql import insert

from meshfab.domain.errors import Conflict, InvalidInput, Problem
from meshfab.domain.principals import Principal
from meshfab.services.platform import Platform
from meshfab.store.tables import IdempotencyRow

Response = tuple[int, Any]


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    platform: Platform, principal: Principal, key: str, fingerprint: str, work: Callable[[], Response]
) -> tuple[Response, bool]:
    """Run `work` at most once per (caller, key); returns the response and whether it is a replay."""
    if not 1 <= len(key) <= 255:
        raise InvalidInput("bad Idempotency-Key", [Problem(("header", "Idempotency-Key"), "1 to 255 characters")])
    now = platform.clock.now()
    scope = str(principal)
    with platform.uow() as uow:
        # one statement claims the key, or takes over a claim older than the replay window
        fresh = insert(IdempotencyRow).values(principal=scope, key=key, request_hash=fingerprint, created_at=now)
        claimed = uow.session.execute(
            fresh.on_conflict_do_update(
                index_elements=[IdempotencyRow.principal, IdempotencyRow.key],
                set_={
                    "request_hash": fresh.excluded.request_hash,
                    "created_at": fresh.excluded.created_at,
                    "status_code": None,
                    "response": null(),
                    "completed_at": None,
                },
                where=IdempotencyRow.created_at < now - timedelta(hours=platform.settings.idempotency_hours),
            ).returning(IdempotencyRow.key)
        ).first()
        uow.commit()
        if claimed is None:
            row = uow.session.get(IdempotencyRow, (scope, key))
            if row is None:  # expired and deleted between our statements: treat as a fresh conflict
                raise Conflict("the request with this Idempotency-Key is still being processed")
            if row.request_hash != fingerprint:
                raise InvalidInput(
                    "Idempotency-Key reused with a different request",
                    [Problem(("header", "Idempotency-Key"), "this key was first used with another body")],
                )
            if row.status_code is None:
                raise Conflict("the request with this Idempotency-Key is still being processed")
            return (row.status_code, row.response), True
    try:
        status, body = work()
    except BaseException:
        _release(platform, scope, key)
        raise
    _store(platform, scope, key, status, body)
    return (status, body), False


def _store(platform: Platform, scope: str, key: str, status: int, body: Any) -> None:
    with platform.uow() as uow:
        uow.session.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.principal == scope, IdempotencyRow.key == key)
            .values(status_code=status, response=body, completed_at=platform.clock.now())
        )
        uow.commit()


def _release(platform: Platform, scope: str, key: str) -> None:
    with platform.uow() as uow:
        uow.session.execute(delete(IdempotencyRow).where(IdempotencyRow.principal == scope, IdempotencyRow.key == key))
        uow.commit()
