"""Promise dates hand-checked on one- and two-factory worlds: shifts, cutoffs, holidays, time zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshfab.engines.promise import Offer, quote
from meshfab.engines.promise.snapshot import _next_true

from .test_promise_world import MONDAY, at, cut, make_factory, make_lane, request, snapshot


def only(result: object) -> Offer:
    assert isinstance(result, list), result
    assert len(result) == 1
    return result[0]


def test_line_made_this_morning_ships_at_todays_cutoff_and_arrives_after_p95() -> None:
    # 30 setup + 60 × 1 min from 08:00 → 09:30; cutoff 16:00; 48 h p95 → Wednesday 16:00 London.
    offer = only(quote(snapshot([make_factory()], [make_lane()]), request()))
    assert offer.ready_at == at(MONDAY, 9, 30)
    assert offer.ship_at == at(MONDAY, 16)
    assert offer.delivery_by == date(2026, 1, 7)
    assert offer.labels == ("fastest", "cheapest")
    assert offer.production_cost == 90 * 10
    assert offer.shipping_cost == 500 + 100  # 1 kg
    assert offer.price == 60 * 1000 + 600
    assert offer.region == "london"


def test_finishing_exactly_at_cutoff_ships_today_one_minute_later_ships_tomorrow() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    # 420 min: 08:00–12:00 (240) + 13:00–16:00 (180) → 16:00 sharp.
    on_time = only(quote(snap, request(cut(setup=30, run=1.0), quantity=390)))
    assert (on_time.ready_at, on_time.ship_at) == (at(MONDAY, 16), at(MONDAY, 16))
    late = only(quote(snap, request(cut(setup=30, run=1.0), quantity=391)))
    assert late.ready_at == at(MONDAY, 16, 1)
    assert late.ship_at == at(MONDAY + timedelta(days=1), 16)
    assert late.delivery_by == on_time.delivery_by + timedelta(days=1)


def test_a_hand_over_margin_moves_a_line_ready_too_close_to_the_cutoff_to_the_next_day() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    plain = only(quote(snap, request()))  # ready 09:30, cutoff 16:00: 390 min of slack
    assert plain.ship_at == at(MONDAY, 16)
    tight = replace(request(), handover_margin_minutes=390)
    assert only(quote(snap, tight)).ship_at == at(MONDAY, 16)
    too_tight = replace(request(), handover_margin_minutes=391)
    late = only(quote(snap, too_tight))
    assert (late.ready_at, late.ship_at) == (plain.ready_at, at(MONDAY + timedelta(days=1), 16))
    assert late.delivery_by == plain.delivery_by + timedelta(days=1)
    with pytest.raises(ValueError, match="hand-over margin"):
        replace(request(), handover_margin_minutes=-1)
    with pytest.raises(ValueError, match="hand-over margin"):
        replace(request(), handover_margin_minutes=1440)


def test_mid_shift_only_the_remaining_minutes_of_today_count() -> None:
    snap = snapshot([make_factory()], [make_lane()], now=at(MONDAY, 10))
    offer = only(quote(snap, request(now=at(MONDAY, 10))))
    assert offer.ready_at == at(MONDAY, 11, 30)
    # 400 min do not fit in today's remaining 360 (10:00–12:00, 13:00–17:00): the rest spills to Tuesday.
    spill = only(quote(snap, request(cut(setup=0), quantity=400, now=at(MONDAY, 10))))
    assert [(r.day, r.minutes) for r in spill.reservations] == [(MONDAY, 360), (MONDAY + timedelta(days=1), 40)]
    assert spill.ready_at == at(MONDAY + timedelta(days=1), 8, 40)


def test_friday_after_cutoff_ships_monday_and_a_holiday_is_skipped() -> None:
    friday = MONDAY + timedelta(days=4)
    factory = make_factory(holidays=["2026-01-12"])  # the next Monday is a holiday
    snap = snapshot([factory], [make_lane()], now=at(friday, 15))
    offer = only(quote(snap, request(cut(setup=0), quantity=90, now=at(friday, 15))))
    assert offer.ready_at == at(friday, 16, 30)
    assert offer.ship_at == at(date(2026, 1, 13), 16)  # Saturday, Sunday, holiday Monday skipped


def test_work_spills_over_weekend_and_holiday_to_the_next_working_day() -> None:
    friday = MONDAY + timedelta(days=4)
    snap = snapshot([make_factory(holidays=["2026-01-12"])], [make_lane()], now=at(friday, 7))
    offer = only(quote(snap, request(cut(setup=0), quantity=600, now=at(friday, 7))))
    assert [(r.day, r.minutes) for r in offer.reservations] == [(friday, 480), (date(2026, 1, 13), 120)]
    assert offer.ready_at == at(date(2026, 1, 13), 10)


def test_factory_time_zone_and_destination_date_in_the_destination_zone() -> None:
    shanghai = make_factory("yiwu-01", region="yiwu", country="CN", tz="Asia/Shanghai")
    lane = make_lane("yiwu-us", origin="yiwu", dest="US", cutoff="17:00", p95=234)
    now = at(MONDAY, 7)  # 15:00 in Yiwu: 120 min of today remain
    offer = only(quote(snapshot([shanghai], [lane], now=now), request(dest="US", now=now)))
    assert offer.ready_at == at(MONDAY, 8, 30)  # 16:30 Yiwu
    assert offer.ship_at == at(MONDAY, 9)  # 17:00 Yiwu
    # + 234 h = 2026-01-15 03:00 UTC = 2026-01-14 22:00 in New York: the date is the 14th, not the UTC 15th.
    assert offer.delivery_by == date(2026, 1, 14)


def test_a_factory_behind_utc_works_its_own_local_day() -> None:
    la = make_factory("la-01", region="los-angeles", country="US", tz="America/Los_Angeles")
    lane = make_lane("la-us", origin="los-angeles", dest="US", cutoff="16:00", p95=24)
    now = at(MONDAY, 7)  # Sunday 23:00 in Los Angeles: Monday's shifts are all ahead
    offer = only(quote(snapshot([la], [lane], now=now), request(dest="US", now=now)))
    assert offer.reservations[0].day == MONDAY
    assert offer.ready_at == at(MONDAY, 17, 30)  # 09:30 Pacific
    assert offer.ship_at == at(MONDAY + timedelta(days=1), 0)  # 16:00 Pacific
    assert offer.delivery_by == date(2026, 1, 6)  # arrives Tuesday 19:00 Eastern


def test_customs_days_are_added_for_a_factory_abroad() -> None:
    lodz = make_factory("lodz-01", region="lodz", country="PL", tz="Europe/Warsaw")
    lane = make_lane("lodz-gb", origin="lodz", dest="GB", cutoff="16:00", p95=48, customs=2)
    offer = only(quote(snapshot([lodz], [lane]), request()))
    assert offer.ship_at == at(MONDAY, 15)  # 16:00 Warsaw
    assert offer.delivery_by == date(2026, 1, 9)  # + 48 h + 2 customs days


def test_operations_run_in_sequence_and_a_successor_never_ends_before_its_predecessor() -> None:
    factory = make_factory(caps={"cut": 5, "pack": 3})
    ops = (cut(setup=0, run=8.0, seq=1), cut(setup=0, run=0.5, cap="pack", family="box", seq=2))
    offer = only(quote(snapshot([factory], [make_lane()]), request(*ops, quantity=90)))
    by_cap = {r.capability: r for r in offer.reservations if r.day == MONDAY + timedelta(days=1)}
    assert offer.reservations[0].minutes == 480 and by_cap["cut"].minutes == 240
    assert by_cap["pack"].minutes == 45  # pack waits for cut to finish on Tuesday
    assert all(r.day >= MONDAY + timedelta(days=1) for r in offer.reservations if r.capability == "pack")
    # cut ends Tuesday 12:00; pack's 45 min then run after the lunch break, not alongside cut's last hour
    assert offer.ready_at == at(MONDAY + timedelta(days=1), 13, 45)


def test_a_route_on_single_machines_is_dated_one_step_after_another() -> None:
    # Every bucket has room on Monday morning, but cut, sew and pack of one lot take 150 + 150 + 150 minutes on
    # single machines: ready 08:00 + 450 min of shifts = 16:30, after the 16:00 cutoff: ships Tuesday.
    factory = make_factory(caps={"cut": 5, "sew": 5, "pack": 5})
    ops = tuple(cut(setup=0, run=2.5, cap=c, family=c, seq=k) for k, c in enumerate(("cut", "sew", "pack"), 1))
    offer = only(quote(snapshot([factory], [make_lane()]), request(*ops, quantity=60)))
    assert all(r.day == MONDAY for r in offer.reservations)
    assert offer.ready_at == at(MONDAY, 16, 30)
    assert offer.ship_at == at(MONDAY + timedelta(days=1), 16)


def test_lots_on_several_machines_shorten_the_flow_but_one_lot_does_not() -> None:
    ops = tuple(cut(setup=0, run=2.5, cap=c, family=c, seq=k) for k, c in enumerate(("cut", "sew", "pack"), 1))
    two_lots = make_factory(caps={"cut": 5, "sew": 5, "pack": 5}, count=2, max_lot=30)
    offer = only(quote(snapshot([two_lots], [make_lane()]), request(*ops, quantity=60)))
    assert offer.ready_at == at(MONDAY, 11, 45)  # two lots side by side: 3 × 75 min from 08:00
    one_lot = make_factory(caps={"cut": 5, "sew": 5, "pack": 5}, count=2)
    offer = only(quote(snapshot([one_lot], [make_lane()]), request(*ops, quantity=60)))
    assert offer.ready_at == at(MONDAY, 16, 30)  # one lot runs on one machine at a time


@given(
    st.integers(1, 40).flatmap(
        lambda days: st.lists(st.lists(st.booleans(), min_size=days, max_size=days), min_size=1, max_size=5)
    )
)
def test_the_next_working_day_is_the_first_working_day_on_or_after_each_day(rows: list[list[bool]]) -> None:
    working = np.array(rows)
    days = working.shape[1]
    found = _next_true(working)
    assert found.shape == (len(rows), days + 1) and (found[:, days] == days).all()
    for i, row in enumerate(rows):
        for d in range(days):
            assert found[i, d] == next((j for j in range(d, days) if row[j]), days)
