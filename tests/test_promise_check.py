"""``check`` agrees with ``quote``: every offer passes at its quote time, and stale plans still fail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from meshfab.domain.capacity import Bucket
from meshfab.engines.promise import CapacitySnapshot, Offer, check, quote

from .test_promise_world import MONDAY, at, cut, make_factory, make_lane, request, snapshot

SATURDAY = MONDAY + timedelta(days=5)
NEXT_MONDAY = MONDAY + timedelta(days=7)


def first_offer(snap: CapacitySnapshot, **kwargs: object) -> Offer:
    result = quote(snap, request(**kwargs))  # type: ignore[arg-type]
    assert isinstance(result, list), result
    return result[0]


def weekend_world() -> CapacitySnapshot:
    """The property test's failing case: stored buckets give every day, Saturday too, 480 minutes."""
    reserved = [0, 0, 0, 421, 480, 0, 0, 0, 0, 0]
    buckets = [Bucket("lon-01", "cut", MONDAY + timedelta(days=d), 480, r) for d, r in enumerate(reserved)]
    return snapshot([make_factory()], [make_lane()], now=at(MONDAY, 17), buckets=buckets)


def test_quote_at_closing_time_with_a_stored_saturday_bucket_passes_check() -> None:
    snap = weekend_world()
    result = quote(snap, request(cut(setup=60), quantity=900, now=at(MONDAY, 17), horizon=10))
    assert isinstance(result, list)
    offer = result[0]
    assert check(snap, offer)
    # Tuesday and Wednesday are free, Thursday has 59 minutes, Friday is full; Saturday has no shift to work on,
    # so the last minute goes to the next Monday and the parcel leaves that day, not on Tuesday.
    assert [(r.day, r.minutes) for r in offer.reservations] == [
        (MONDAY + timedelta(days=1), 480),
        (MONDAY + timedelta(days=2), 480),
        (MONDAY + timedelta(days=3), 59),
        (NEXT_MONDAY, 1),
    ]
    assert offer.ready_at == at(NEXT_MONDAY, 8, 1)
    assert offer.ship_at == at(NEXT_MONDAY, 16)
    assert sum(r.minutes for r in offer.reservations) == 2 * 60 + 900


def test_the_weekend_offer_still_fails_check_once_its_buckets_fill_or_the_factory_pauses() -> None:
    snap = weekend_world()
    result = quote(snap, request(cut(setup=60), quantity=900, now=at(MONDAY, 17), horizon=10))
    assert isinstance(result, list)
    offer = result[0]
    snap.reserve("lon-01", "cut", NEXT_MONDAY, 475)  # the last minute still fits but now ends after 16:00
    assert not check(snap, offer)
    snap.release("lon-01", "cut", NEXT_MONDAY, 475)
    assert check(snap, offer)
    snap.set_status("lon-01", accepts_work=False)
    assert not check(snap, offer)


def test_a_holiday_with_stored_minutes_is_skipped_by_quote() -> None:
    holiday = str(MONDAY + timedelta(days=1))
    buckets = [Bucket("lon-01", "cut", MONDAY + timedelta(days=1), 480, 0)]
    snap = snapshot([make_factory(holidays=[holiday])], [make_lane()], buckets=buckets)
    offer = first_offer(snap, quantity=600)  # 2 lots × 30 setup + 600 run: Monday's 480, then Wednesday
    assert [(r.day, r.minutes) for r in offer.reservations] == [(MONDAY, 480), (MONDAY + timedelta(days=2), 180)]
    assert check(snap, offer)


def test_check_refuses_work_on_a_day_without_shifts_or_after_the_ship_day() -> None:
    buckets = [Bucket("lon-01", "cut", SATURDAY, 480, 0)]
    snap = snapshot([make_factory()], [make_lane()], buckets=buckets)
    offer = first_offer(snap)
    assert check(snap, offer)
    weekend = replace(offer.reservations[0], day=SATURDAY)
    assert not check(snap, replace(offer, reservations=(*offer.reservations, weekend)))
    later = replace(offer.reservations[0], day=MONDAY + timedelta(days=1), setup_minutes=0)
    assert not check(snap, replace(offer, reservations=(*offer.reservations, later)))


def test_locate_is_the_public_bucket_lookup() -> None:
    snap = snapshot([make_factory("a"), make_factory("b")], [make_lane()])
    assert snap.locate("b", "cut", MONDAY + timedelta(days=2)) == (1, 2)
    for key in [("c", "cut", MONDAY), ("a", "sew", MONDAY), ("a", "cut", date(2025, 1, 1))]:
        with pytest.raises(KeyError):
            snap.locate(*key)
