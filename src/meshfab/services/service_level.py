"""Service level: how often promises were kept, and how long orders took to arrive, for a period."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from meshfab.domain.orders import PromiseStatus
from meshfab.domain.principals import Principal
from meshfab.services.access import require_operator
from meshfab.services.platform import Platform
from meshfab.store.tables import FactoryRow, OrderRow, PromiseRow


def _summary(rows: list[tuple[bool, float]]) -> dict[str, Any]:
    hours = sorted(h for _, h in rows)
    pct = statistics.quantiles(hours, n=100, method="inclusive") if len(hours) > 1 else hours * 99
    return {
        "lines": len(rows),
        "promise_kept_rate": round(sum(k for k, _ in rows) / len(rows), 4),
        "hours_p50": round(pct[49], 1),
        "hours_p95": round(pct[94], 1),
    }


def service_level(platform: Platform, principal: Principal, since: datetime, until: datetime) -> dict[str, Any]:
    """Lines delivered in [since, until): kept rate and order-to-delivery hours, overall and by origin region,
    destination country and lane."""
    require_operator(principal, "read the service level")
    with platform.uow() as uow:
        found = uow.session.execute(
            select(
                PromiseRow.status,
                PromiseRow.delivered_at,
                PromiseRow.lane_id,
                FactoryRow.region,
                OrderRow.created_at,
                OrderRow.ship_to,
            )
            .join(FactoryRow, FactoryRow.id == PromiseRow.factory_id)
            .join(OrderRow, OrderRow.id == PromiseRow.order_id)
            .where(PromiseRow.delivered_at >= since, PromiseRow.delivered_at < until)
        ).all()
    groups: dict[str, dict[str, list[tuple[bool, float]]]] = {
        "origin_region": defaultdict(list),
        "destination_country": defaultdict(list),
        "lane": defaultdict(list),
    }
    everything: list[tuple[bool, float]] = []
    for status, delivered_at, lane_id, region, created_at, ship_to in found:
        sample = (status != PromiseStatus.broken.value, (delivered_at - created_at).total_seconds() / 3600)
        everything.append(sample)
        groups["origin_region"][region].append(sample)
        groups["destination_country"][ship_to["country"]].append(sample)
        groups["lane"][lane_id].append(sample)
    return {
        "since": since,
        "until": until,
        "overall": _summary(everything) if everything else None,
        **{name: {k: _summary(v) for k, v in sorted(g.items())} for name, g in groups.items()},
    }
