"""Carrier adapters: manual bookings, and the simulated carrier's deterministic, lane-shaped journeys."""

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

import pytest

from meshfab.carriers import Carrier, ManualCarrier, SimulatedCarrier
from meshfab.domain.errors import Conflict, InvalidInput
from meshfab.domain.geo import Address
from meshfab.domain.lanes import Lane
from meshfab.domain.parcels import RANK, Milestone, ParcelStatus, apply_all, start_tracking
from meshfab.engines.parcels import Box, ParcelItem, ParcelPlan
from meshfab.services.shipping import customs_rules

SHIP_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
LANE = Lane(id="yiwu-de-premium", origin_region="yiwu", destination_country="DE", carrier="Cainiao",
            service="premium", transit_hours_p50=132, transit_hours_p95=204, cutoff=time(15), currency="USD",
            cost_per_parcel=380, cost_per_kg=100, customs_days=2)  # fmt: skip
ITEM = ParcelItem(UUID(int=1), UUID(int=2), "medal", "Medal", "830629", "CN", 3, 57, 450, "USD")


def plan(key: str = "p-1", country: str = "DE") -> ParcelPlan:
    address = Address(name="A", line1="B", city="C", country=country)
    return ParcelPlan(key, "yiwu-01", "CN", address, SHIP_AT.date(), SHIP_AT, (ITEM,),
                      (Box("carton-40x30x25", "medal", 3, 671),))  # fmt: skip


def test_manual_carrier_books_what_the_factory_entered() -> None:
    carrier: Carrier = ManualCarrier("SF Express", "SF1234567890")
    booking = carrier.book(plan(), LANE, SHIP_AT)
    assert (booking.carrier, booking.tracking_number, booking.parcel_key, booking.lane_id) == (
        "SF Express", "SF1234567890", "p-1", LANE.id,
    )  # fmt: skip
    assert carrier.events(booking, None, SHIP_AT + timedelta(days=30)) == []
    carrier.cancel(booking, SHIP_AT)
    with pytest.raises(InvalidInput):
        ManualCarrier("SF Express", "no spaces allowed")
    with pytest.raises(InvalidInput):
        ManualCarrier(" ", "SF1234567890")


def test_simulated_journeys_are_deterministic_per_seed_and_parcel() -> None:
    end = SHIP_AT + timedelta(days=60)
    a, b = SimulatedCarrier(7), SimulatedCarrier(7)
    first = a.events(a.book(plan(), LANE, SHIP_AT), None, end)
    assert first == b.events(b.book(plan(), LANE, SHIP_AT), None, end)
    assert a.book(plan(), LANE, SHIP_AT) == b.book(plan(), LANE, SHIP_AT)  # idempotent on the parcel key
    other = SimulatedCarrier(8)
    assert other.events(other.book(plan(), LANE, SHIP_AT), None, end) != first


def test_a_cross_border_journey_passes_customs_in_order() -> None:
    carrier = SimulatedCarrier(1, hold_probability=1.0, late_scan_probability=0.0)
    events = carrier.events(carrier.book(plan(), LANE, SHIP_AT), None, SHIP_AT + timedelta(days=60))
    assert [e.milestone for e in events] == [
        Milestone.handed_over, Milestone.in_transit, Milestone.customs_hold, Milestone.customs_cleared,
        Milestone.out_for_delivery, Milestone.delivered,
    ]  # fmt: skip
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
    assert events[0].occurred_at == SHIP_AT and len({e.event_id for e in events}) == 6


def test_a_domestic_journey_has_no_customs() -> None:
    carrier = SimulatedCarrier(1, hold_probability=1.0)
    events = carrier.events(carrier.book(plan(country="CN"), LANE, SHIP_AT), None, SHIP_AT + timedelta(days=60))
    assert {e.milestone for e in events} == {Milestone.handed_over, Milestone.in_transit,
                                             Milestone.out_for_delivery, Milestone.delivered}  # fmt: skip


def test_events_are_returned_by_report_window_and_late_scans_do_not_confuse_tracking() -> None:
    carrier = SimulatedCarrier(3, late_scan_probability=1.0)
    booking = carrier.book(plan(), LANE, SHIP_AT)
    state, seen, since = start_tracking(SHIP_AT), [], None
    for hours in range(0, 60 * 24, 12):
        until = SHIP_AT + timedelta(hours=hours)
        batch = carrier.events(booking, since, until)
        seen += batch
        state, since = apply_all(state, batch), until
    assert state.status is ParcelStatus.delivered
    occurred = [e.occurred_at for e in seen]
    assert occurred != sorted(occurred)  # some earlier scans arrived after later ones
    assert len(seen) == len({e.event_id for e in seen})


def test_transit_follows_the_lane_p50_and_p95() -> None:
    carrier = SimulatedCarrier(11, late_scan_probability=0.0)
    transit = []
    for n in range(400):
        events = carrier.events(carrier.book(plan(f"p-{n}", "CN"), LANE, SHIP_AT), None, SHIP_AT + timedelta(days=90))
        transit.append((events[-1].occurred_at - SHIP_AT) / timedelta(hours=1))
    below_p50 = sum(t <= LANE.transit_hours_p50 for t in transit) / len(transit)
    beyond_p95 = sum(t > LANE.transit_hours_p95 for t in transit) / len(transit)
    assert 0.43 <= below_p50 <= 0.57
    assert 0.02 <= beyond_p95 <= 0.09


def test_cancel_and_unknown_bookings() -> None:
    carrier = SimulatedCarrier(5)
    booking = carrier.book(plan(), LANE, SHIP_AT)
    with pytest.raises(Conflict):
        carrier.cancel(booking, SHIP_AT)
    carrier.cancel(booking, SHIP_AT - timedelta(hours=1))
    with pytest.raises(InvalidInput):
        carrier.events(booking, None, SHIP_AT)
    with pytest.raises(ValueError):
        SimulatedCarrier(1, hold_probability=1.5)


def test_rank_covers_every_status_but_exception() -> None:
    assert set(RANK) == set(ParcelStatus) - {ParcelStatus.exception}


def test_inside_a_customs_union_a_cross_country_journey_has_no_customs() -> None:
    rules = customs_rules()
    assert rules.crosses_border("CN", "DE") and not rules.crosses_border("PL", "DE")
    carrier = SimulatedCarrier(1, hold_probability=1.0, crosses_border=rules.crosses_border)
    lodz = replace(plan("p-2", country="DE"), factory_id="lodz-01", origin_country="PL")
    inside = carrier.events(carrier.book(lodz, LANE, SHIP_AT), None, SHIP_AT + timedelta(days=60))
    assert Milestone.customs_hold not in {e.milestone for e in inside}
    assert Milestone.customs_cleared not in {e.milestone for e in inside}
    outside = carrier.events(carrier.book(plan("p-3"), LANE, SHIP_AT), None, SHIP_AT + timedelta(days=60))
    assert Milestone.customs_hold in {e.milestone for e in outside}  # China to Germany still clears
