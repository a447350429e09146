from datetime import UTC, date, datetime, time

import pytest
from pydantic import ValidationError

from meshfab.domain.capacity import Bucket
from meshfab.domain.errors import Conflict, InvalidInput
from meshfab.domain.factories import Calendar, Factory, Shift
from meshfab.domain.lanes import Lane
from meshfab.domain.money import Money
from meshfab.domain.principals import Principal, Role


def factory(**changes: object) -> Factory:
    doc = {
        "id": "yiwu-01",
        "name": "Yiwu Print",
        "location": {"lat": 29.3, "lon": 120.1, "region": "yiwu", "country": "CN", "timezone": "Asia/Shanghai"},
        "workcenters": [{"capability": "print_dtg", "count": 2, "efficiency": 0.9}, {"capability": "pack", "count": 1}],
        "calendar": {
            "shifts": [
                {"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "12:00"},
                {"weekdays": [0, 1, 2, 3, 4], "start": "13:00", "end": "17:00"},
            ],
            "holidays": ["2026-11-25"],
        },
        "currency": "USD",
        "cost_per_minute": {"print_dtg": 12, "pack": 4},
    }
    doc.update(changes)
    return Factory.model_validate(doc)


def test_capacity_is_shift_minutes_times_machines_times_efficiency() -> None:
    f = factory()
    assert f.capacity_minutes("print_dtg", date(2026, 11, 23)) == int(480 * 2 * 0.9)
    assert f.capacity_minutes("pack", date(2026, 11, 23)) == 480


def test_holidays_weekends_and_missing_capabilities_have_no_capacity() -> None:
    f = factory()
    assert f.capacity_minutes("print_dtg", date(2026, 11, 25)) == 0  # holiday
    assert f.capacity_minutes("print_dtg", date(2026, 11, 28)) == 0  # Saturday
    assert f.capacity_minutes("sew", date(2026, 11, 23)) == 0


def test_shifts_are_read_in_the_factory_time_zone() -> None:
    windows = factory().working_windows(date(2026, 11, 23))
    assert windows[0] == (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    assert factory().local_day(datetime(2026, 11, 22, 17, 0, tzinfo=UTC)) == date(2026, 11, 23)


def test_a_factory_must_price_every_capability_it_has() -> None:
    with pytest.raises(ValidationError, match="cost_per_minute lacks"):
        factory(cost_per_minute={"print_dtg": 12})


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "XYZ"),
        ("location", {"lat": 0, "lon": 0, "region": "x", "country": "ZZ", "timezone": "UTC"}),
        ("location", {"lat": 0, "lon": 0, "region": "x", "country": "CN", "timezone": "Mars/Olympus"}),
    ],
)
def test_codes_are_checked_against_iso_and_iana(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        factory(**{field: value})


def test_shifts_must_not_cross_midnight() -> None:
    with pytest.raises(ValidationError, match="after its start"):
        Shift(weekdays=[0], start=time(22, 0), end=time(6, 0))
    assert Calendar(shifts=[Shift(weekdays=[0], start=time(8), end=time(9, 30))]).minutes_on(date(2026, 11, 23)) == 90


def test_lane_p95_cannot_beat_p50() -> None:
    with pytest.raises(ValidationError, match="p95"):
        Lane(
            id="a",
            origin_region="yiwu",
            destination_country="US",
            carrier="c",
            service="s",
            transit_hours_p50=100,
            transit_hours_p95=50,
            cutoff=time(17),
            currency="USD",
            cost_per_parcel=1,
            cost_per_kg=1,
        )


def test_bucket_refuses_to_oversell() -> None:
    bucket = Bucket("yiwu-01", "print_dtg", date(2026, 11, 23), available=100)
    bucket.reserve(60)
    with pytest.raises(Conflict):
        bucket.reserve(41)
    bucket.release(60)
    assert bucket.free == 100


def test_money_refuses_to_mix_currencies() -> None:
    with pytest.raises(ValueError, match="cannot add"):
        Money(amount=1, currency="USD") + Money(amount=1, currency="EUR")
    assert Money(amount=150, currency="USD").times(3).amount == 450


def test_principals_parse_and_reject_bad_roles() -> None:
    assert Principal.parse("factory:yiwu-01") == Principal(Role.factory, "yiwu-01")
    assert str(Principal.parse("operator")) == "operator"
    for bad in ["admin", "factory", "operator:x", "merchant:"]:
        with pytest.raises(InvalidInput):
            Principal.parse(bad)


def test_only_the_promise_share_of_a_workcenter_is_offered_at_checkout() -> None:
    f = factory(
        workcenters=[
            {"capability": "print_dtg", "count": 2, "efficiency": 0.9, "promise_share": 0.5},
            {"capability": "pack", "count": 1},
        ]
    )
    assert f.capacity_minutes("print_dtg", date(2026, 11, 23)) == int(480 * 2 * 0.9 * 0.5)
    assert f.capacity_minutes("pack", date(2026, 11, 23)) == 480  # the default promises all of it
    with pytest.raises(ValidationError):
        factory(
            workcenters=[
                {"capability": "print_dtg", "count": 1, "promise_share": 1.2},
                {"capability": "pack", "count": 1},
            ]
        )
