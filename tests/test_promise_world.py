"""Small hand-made worlds for the promise engine tests, and the calendar → bucket minutes rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

from meshfab.domain.factories import Factory
from meshfab.domain.lanes import Lane
from meshfab.engines.promise import CapacitySnapshot, OperationNeed, QuoteRequest, calendar_buckets

MONDAY = date(2026, 1, 5)  # winter: London is UTC, Shanghai UTC+8, Los Angeles UTC-8, New York UTC-5
WEEKDAYS = [0, 1, 2, 3, 4]


def make_factory(
    fid: str = "lon-01",
    *,
    region: str = "london",
    country: str = "GB",
    tz: str = "Europe/London",
    caps: dict[str, int] | None = None,
    holidays: list[str] | None = None,
    status: str = "active",
    max_lot: int = 500,
    cost: int = 10,
    count: int = 1,
) -> Factory:
    """One machine per capability at 100 %, shifts 08:00–12:00 and 13:00–17:00 Monday to Friday (480 min/day)."""
    caps = caps or {"cut": cost}
    return Factory.model_validate(
        {
            "id": fid,
            "name": fid,
            "location": {"lat": 0, "lon": 0, "region": region, "country": country, "timezone": tz},
            "workcenters": [{"capability": c, "count": count, "efficiency": 1.0} for c in caps],
            "calendar": {
                "shifts": [
                    {"weekdays": WEEKDAYS, "start": "08:00", "end": "12:00"},
                    {"weekdays": WEEKDAYS, "start": "13:00", "end": "17:00"},
                ],
                "holidays": holidays or [],
            },
            "currency": "USD",
            "cost_per_minute": caps,
            "status": status,
            "max_lot": max_lot,
        }
    )


def make_lane(
    lid: str = "london-gb",
    *,
    origin: str = "london",
    dest: str = "GB",
    cutoff: str = "16:00",
    p95: int = 48,
    customs: int = 0,
    parcel: int = 500,
    per_kg: int = 100,
) -> Lane:
    return Lane.model_validate(
        {
            "id": lid,
            "origin_region": origin,
            "destination_country": dest,
            "carrier": "c",
            "service": "s",
            "transit_hours_p50": min(24, p95),
            "transit_hours_p95": p95,
            "cutoff": cutoff,
            "currency": "USD",
            "cost_per_parcel": parcel,
            "cost_per_kg": per_kg,
            "customs_days": customs,
        }
    )


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def cut(setup: int = 30, run: float = 1.0, family: str = "cotton", seq: int = 1, cap: str = "cut") -> OperationNeed:
    return OperationNeed(cap, family, setup, run, seq)


def request(
    *ops: OperationNeed,
    quantity: int = 60,
    dest: str = "GB",
    now: datetime | None = None,
    horizon: int = 60,
    weight: int = 1000,
) -> QuoteRequest:
    return QuoteRequest(ops or (cut(),), quantity, dest, (weight,), now or at(MONDAY, 7), 1000, "USD", horizon)


def snapshot(
    factories: list[Factory], lanes: list[Lane], now: datetime | None = None, days: int = 20, **kwargs: object
) -> CapacitySnapshot:
    return CapacitySnapshot(factories, lanes, now=now or at(MONDAY, 7), days=days, **kwargs)  # type: ignore[arg-type]


def test_calendar_buckets_count_shifts_machines_and_efficiency_and_zero_holidays() -> None:
    factory = make_factory(caps={"cut": 5, "sew": 7}, holidays=["2026-01-06"], count=3)
    buckets = {(b.capability, b.day): b.available for b in calendar_buckets(factory, MONDAY, 7)}
    assert buckets[("cut", MONDAY)] == 480 * 3
    assert buckets[("sew", date(2026, 1, 6))] == 0  # holiday
    assert buckets[("cut", date(2026, 1, 10))] == 0  # Saturday
    assert len(buckets) == 14


def test_snapshot_buckets_override_calendar_and_carry_reservations() -> None:
    from meshfab.domain.capacity import Bucket

    snap = snapshot([make_factory()], [make_lane()], buckets=[Bucket("lon-01", "cut", MONDAY, 300, 120)])
    assert snap.bucket("lon-01", "cut", MONDAY).free == 180
    snap.reserve("lon-01", "cut", MONDAY, 80, "cotton")
    assert snap.bucket("lon-01", "cut", MONDAY).free == 100
    assert snap.has_family("lon-01", "cut", MONDAY, "cotton")
    snap.release("lon-01", "cut", MONDAY, 500)
    assert snap.bucket("lon-01", "cut", MONDAY).reserved == 0


def test_request_rejects_naive_time_and_empty_lines() -> None:
    import pytest

    with pytest.raises(ValueError, match="UTC"):
        QuoteRequest((cut(),), 1, "GB", (1,), datetime(2026, 1, 5, 7), 1, "USD")
    with pytest.raises(ValueError, match="operation"):
        QuoteRequest((), 1, "GB", (1,), at(MONDAY, 7), 1, "USD")
