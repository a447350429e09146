"""Tracking milestones: in order, out of order, duplicates, exceptions, customs holds, missed scans."""

from datetime import UTC, date, datetime, timedelta
from itertools import permutations

import pytest

from meshfab.domain.parcels import (
    Milestone,
    ParcelStatus,
    TrackingEvent,
    apply,
    apply_all,
    missed_scan,
    next_scan_deadline,
    start_tracking,
)
from meshfab.engines.parcels import promise_broken

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def scan(milestone: str, hours: float, **extra: str) -> TrackingEvent:
    return TrackingEvent(milestone=Milestone(milestone), occurred_at=T0 + timedelta(hours=hours), **extra)


def test_milestones_in_order_move_the_status_forward() -> None:
    state = start_tracking(T0)
    seen = []
    for event in [scan("handed_over", 0), scan("in_transit", 5), scan("customs_hold", 100),
                  scan("customs_cleared", 150), scan("out_for_delivery", 170), scan("delivered", 175)]:  # fmt: skip
        state = apply(state, event)
        seen.append(state.status)
    assert seen == [
        ParcelStatus.handed_over,
        ParcelStatus.in_transit,
        ParcelStatus.customs_hold,
        ParcelStatus.customs_cleared,
        ParcelStatus.out_for_delivery,
        ParcelStatus.delivered,
    ]
    assert state.is_final and state.customs_holds == 1 and state.last_scan_at == T0 + timedelta(hours=175)


def test_an_earlier_scan_arriving_late_is_recorded_but_never_moves_back() -> None:
    state = apply_all(start_tracking(T0), [scan("in_transit", 5), scan("customs_cleared", 120)])
    late = apply(state, scan("handed_over", 0))
    assert late.status is ParcelStatus.customs_cleared
    order = [Milestone.handed_over, Milestone.in_transit, Milestone.customs_cleared]
    assert [e.milestone for e in late.events] == order
    assert late.last_scan_at == T0 + timedelta(hours=120)


def test_duplicate_scans_are_ignored() -> None:
    state = apply(start_tracking(T0), scan("in_transit", 5))
    assert apply(state, scan("in_transit", 5)) is state
    with_id = apply(state, scan("out_for_delivery", 50, event_id="e-9"))
    assert apply(with_id, scan("out_for_delivery", 51, event_id="e-9")) is with_id


def test_delivered_is_terminal_even_for_later_exceptions() -> None:
    state = apply_all(start_tracking(T0), [scan("delivered", 100), scan("exception", 120), scan("in_transit", 3)])
    assert state.status is ParcelStatus.delivered
    assert len(state.events) == 3
    assert next_scan_deadline(state) is None
    assert not missed_scan(state, T0 + timedelta(days=365))


def test_exception_holds_until_a_newer_forward_scan() -> None:
    state = apply_all(start_tracking(T0), [scan("in_transit", 5), scan("exception", 40, detail="address unclear")])
    assert state.status is ParcelStatus.exception
    assert state.progress is ParcelStatus.in_transit
    older = apply(state, scan("handed_over", 1))
    assert older.status is ParcelStatus.exception
    resumed = apply(older, scan("out_for_delivery", 60))
    assert resumed.status is ParcelStatus.out_for_delivery


def test_final_state_does_not_depend_on_arrival_order() -> None:
    events = [scan("handed_over", 0), scan("in_transit", 4), scan("exception", 30),
              scan("customs_cleared", 80), scan("out_for_delivery", 90)]  # fmt: skip
    finals = {
        (s.status, s.progress, s.events, s.last_scan_at)
        for s in (apply_all(start_tracking(T0), list(order)) for order in permutations(events))
    }
    assert len(finals) == 1
    status, progress, *_ = finals.pop()
    assert (status, progress) == (ParcelStatus.out_for_delivery, ParcelStatus.out_for_delivery)


def test_status_rank_never_decreases_whatever_the_order() -> None:
    events = [scan("handed_over", 0), scan("in_transit", 4), scan("customs_hold", 50), scan("delivered", 90)]
    for order in permutations(events):
        state, ranks = start_tracking(T0), []
        for event in order:
            state = apply(state, event)
            ranks.append(list(ParcelStatus).index(state.progress))
        assert ranks == sorted(ranks)


def test_customs_hold_moves_the_expected_delivery_and_can_break_the_promise() -> None:
    expected = T0 + timedelta(hours=200)
    state = apply(start_tracking(T0, expected_delivery=expected), scan("in_transit", 5))
    promised = date(2026, 12, 2)
    assert not promise_broken(state, promised, "DE")
    held = apply(state, scan("customs_hold", 180))
    assert held.expected_delivery == T0 + timedelta(hours=180 + 96)
    assert promise_broken(held, promised, "DE")
    early_hold = apply(state, scan("customs_hold", 20))
    assert early_hold.expected_delivery == expected
    assert not promise_broken(start_tracking(T0), promised, "DE")


def test_missed_scan_after_the_expected_window() -> None:
    state = start_tracking(T0)
    assert next_scan_deadline(state) == T0 + timedelta(hours=24)
    assert not missed_scan(state, T0 + timedelta(hours=24))
    assert missed_scan(state, T0 + timedelta(hours=24, seconds=1))
    handed = apply(state, scan("handed_over", 1))
    assert not missed_scan(handed, T0 + timedelta(hours=24))
    assert missed_scan(handed, T0 + timedelta(hours=25, minutes=1))
    moving = apply(handed, scan("in_transit", 10))
    assert not missed_scan(moving, T0 + timedelta(hours=10 + 95))
    assert missed_scan(moving, T0 + timedelta(hours=10 + 97))
    late_old = apply(moving, scan("handed_over", 0, location="hub"))
    assert next_scan_deadline(late_old) == next_scan_deadline(moving)
    with pytest.raises(ValueError, match="aware"):
        missed_scan(moving, datetime(2026, 11, 30))


def test_naive_scan_times_are_refused() -> None:
    with pytest.raises(ValueError):
        TrackingEvent(milestone=Milestone.delivered, occurred_at=datetime(2026, 11, 23, 7))
