"""Capacity, refusals, setups, offers and re-checks of the promise engine."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from meshfab.domain.capacity import Bucket
from meshfab.engines.promise import CapacitySnapshot, Offer, Refusal, calendar_buckets, check, quote

from .test_promise_world import MONDAY, at, cut, make_factory, make_lane, request, snapshot

TUESDAY = MONDAY + timedelta(days=1)


def offers(result: object) -> list[Offer]:
    assert isinstance(result, list), result
    return result


def full(fid: str, days: int = 30) -> list[Bucket]:
    return [Bucket(fid, "cut", MONDAY + timedelta(days=d), 480, 480) for d in range(days)]


def test_country_without_lane_is_refused_as_not_served() -> None:
    result = quote(snapshot([make_factory()], [make_lane()]), request(dest="JP"))
    assert result == Refusal("country_not_served", "no lane reaches JP")


def test_lane_only_from_regions_without_capable_factories_is_not_served() -> None:
    factories = [make_factory(), make_factory("sew-01", region="lodz", caps={"sew": 5})]
    result = quote(snapshot(factories, [make_lane("lodz-de", origin="lodz", dest="DE")]), request(dest="DE"))
    assert isinstance(result, Refusal) and result.reason == "country_not_served"
    assert "london" in result.detail


def test_missing_capability_is_no_capable_factory() -> None:
    result = quote(snapshot([make_factory()], [make_lane()]), request(cut(cap="engrave")))
    assert isinstance(result, Refusal) and result.reason == "no_capable_factory"
    assert "engrave" in result.detail


def test_paused_and_dark_factories_get_no_offers() -> None:
    factories = [
        make_factory("a-paused", status="paused", cost=1),
        make_factory("b-dark", status="dark", cost=1),
        make_factory("c-active", cost=50),
    ]
    result = offers(quote(snapshot(factories, [make_lane()]), request()))
    assert {o.factory_id for o in result} == {"c-active"}
    alone = quote(snapshot(factories[:2], [make_lane()]), request())
    assert isinstance(alone, Refusal) and alone.reason == "no_capable_factory"
    assert "a-paused (paused)" in alone.detail and "b-dark (dark)" in alone.detail


def test_status_change_takes_effect_without_rebuild_and_fails_check() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    offer = offers(quote(snap, request()))[0]
    snap.set_status("lon-01", accepts_work=False)
    assert not check(snap, offer)
    assert isinstance(quote(snap, request()), Refusal)


def test_full_buckets_within_the_horizon_refuse_as_capacity_exhausted() -> None:
    snap = snapshot([make_factory()], [make_lane()], days=30, buckets=full("lon-01"))
    result = quote(snap, request())
    assert isinstance(result, Refusal) and result.reason == "capacity_exhausted"


def test_a_line_larger_than_the_horizon_is_refused_and_a_shorter_horizon_refuses_sooner() -> None:
    snap = snapshot([make_factory()], [make_lane()], days=20)
    assert isinstance(quote(snap, request(cut(setup=0), quantity=480 * 20)), Refusal)
    assert isinstance(quote(snap, request(cut(setup=0), quantity=480 * 3, horizon=2)), Refusal)
    assert isinstance(quote(snap, request(cut(setup=0), quantity=480 * 3, horizon=3)), list)


def test_a_full_factory_yields_to_one_with_room() -> None:
    factories = [make_factory("a-full", cost=1), make_factory("b-free", cost=20)]
    snap = snapshot(factories, [make_lane()], buckets=full("a-full", 5))
    result = offers(quote(snap, request()))
    assert [o.factory_id for o in result] == ["b-free"]


def test_setup_is_held_once_per_family_per_bucket() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    first = offers(quote(snap, request()))[0]
    assert (first.reservations[0].minutes, first.reservations[0].setup_minutes) == (90, 30)
    snap.apply(first)
    second = offers(quote(snap, request()))[0]
    assert second.reservations[0].day == MONDAY
    assert (second.reservations[0].minutes, second.reservations[0].setup_saved) == (60, 30)
    other = offers(quote(snap, request(cut(family="silk"))))[0]
    assert other.reservations[0].setup_minutes == 30
    tuesday = snapshot([make_factory()], [make_lane()], families=[("lon-01", "cut", TUESDAY, "cotton")])
    assert offers(quote(tuesday, request()))[0].reservations[0].setup_minutes == 30  # Monday has no cotton lot


def test_a_line_above_max_lot_pays_one_setup_per_lot() -> None:
    snap = snapshot([make_factory(max_lot=25)], [make_lane()])
    assert offers(quote(snap, request(quantity=60)))[0].reservations[0].setup_minutes == 3 * 30


def test_reservations_consume_capacity_and_later_quotes_move_later() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    big = offers(quote(snap, request(cut(setup=0), quantity=400)))[0]
    snap.apply(big)
    after = offers(quote(snap, request(cut(setup=0), quantity=100)))[0]
    assert [(r.day, r.minutes) for r in after.reservations] == [(MONDAY, 80), (TUESDAY, 20)]
    assert after.ready_at == at(TUESDAY, 8, 20)


def test_fastest_and_cheapest_offers_come_from_the_pareto_front() -> None:
    lanes = [
        make_lane("gb-express", p95=24, parcel=2000),
        make_lane("gb-post", p95=120, parcel=300),
        make_lane("gb-slow-dear", p95=200, parcel=5000),
    ]
    result = offers(quote(snapshot([make_factory()], lanes), request()))
    assert [o.lane_id for o in result] == ["gb-express", "gb-post"]
    assert result[0].labels == ("fastest",) and result[-1].labels == ("cheapest",)
    assert result[0].delivery_by < result[1].delivery_by and result[0].price > result[1].price


def test_equal_offers_break_ties_on_production_cost() -> None:
    factories = [make_factory("a-dear", cost=30), make_factory("b-cheap", cost=5)]
    result = offers(quote(snapshot(factories, [make_lane()]), request()))
    assert [o.factory_id for o in result] == ["b-cheap"]


def test_check_accepts_a_fresh_offer_and_rejects_it_once_its_bucket_is_taken() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    offer = offers(quote(snap, request(cut(setup=0), quantity=400)))[0]
    assert check(snap, offer)
    snap.reserve("lon-01", "cut", MONDAY, 100)
    assert not check(snap, offer)


def test_check_rejects_when_other_work_pushes_the_finish_past_the_cutoff() -> None:
    snap = snapshot([make_factory()], [make_lane()])
    offer = offers(quote(snap, request(cut(setup=0), quantity=300)))[0]  # ready 14:00, ships at 16:00
    snap.reserve("lon-01", "cut", MONDAY, 150)  # still fits (450 ≤ 480) but ends at 16:30
    assert not check(snap, offer)


def test_check_rejects_a_saved_setup_whose_lot_is_gone_and_a_stale_time() -> None:
    snap = snapshot([make_factory()], [make_lane()], families=[("lon-01", "cut", MONDAY, "cotton")])
    offer = offers(quote(snap, request()))[0]
    assert offer.reservations[0].setup_saved == 30
    assert check(snap, offer)
    fresh = snapshot([make_factory()], [make_lane()])
    assert not check(fresh, offer)
    assert not check(snap, offer, now=at(MONDAY, 16, 30))  # past the ship time


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 480), min_size=10, max_size=10), st.integers(1, 900), st.integers(0, 60), st.integers(6, 17)
)
def test_any_offer_fits_free_capacity_holds_the_whole_need_and_passes_check(
    reserved: list[int], quantity: int, setup: int, hour: int
) -> None:
    buckets = [Bucket("lon-01", "cut", MONDAY + timedelta(days=d), 480, r) for d, r in enumerate(reserved)]
    now = at(MONDAY, hour)
    snap = snapshot([make_factory()], [make_lane()], now=now, buckets=buckets)
    result = quote(snap, request(cut(setup=setup), quantity=quantity, now=now, horizon=10))
    if isinstance(result, Refusal):
        assert result.reason == "capacity_exhausted"
        return
    offer = result[0]
    lots = -(-quantity // 500)  # max_lot 500
    assert sum(r.minutes for r in offer.reservations) == setup * lots + quantity
    for r in offer.reservations:
        assert r.minutes <= snap.bucket("lon-01", "cut", r.day).free
    assert offer.ready_at <= offer.ship_at and offer.ready_at >= now
    assert check(snap, offer)
    snap.apply(offer)
    assert all(b.reserved <= b.available for b in (snap.bucket("lon-01", "cut", r.day) for r in offer.reservations))
    assert np.all(snap.reserved["cut"] >= 0)


def test_a_bucket_nobody_stored_offers_only_the_promise_share() -> None:
    """The snapshot's own calendar capacity is what a stored bucket row is created with: the promise share of
    shift minutes × machines × efficiency. Offering the whole of it made quotes that the order's re-check, which
    reads the stored row, then refused."""
    base = make_factory(caps={"cut": 10, "sew": 12}, count=2)
    shared = base.model_copy(
        update={
            "workcenters": [
                wc.model_copy(update={"efficiency": 0.9, "promise_share": 0.85}) if wc.capability == "cut" else wc
                for wc in base.workcenters
            ]
        }
    )
    snap = CapacitySnapshot([shared], [], now=at(MONDAY, 7), days=14)
    stored = {(b.capability, b.day): b.available for b in calendar_buckets(shared, snap.origin, 14)}
    for (capability, day), available in stored.items():
        i, d = snap.locate(shared.id, capability, day)
        assert snap.available[capability][i, d] == available == shared.capacity_minutes(capability, day)
    assert stored[("cut", MONDAY)] == int(480 * 2 * 0.9 * 0.85) < 480 * 2  # the share is kept off checkout
    assert stored[("sew", MONDAY)] == 480 * 2  # the default share promises all of it
