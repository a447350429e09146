"""Network re-planning against real PostgreSQL: a dark factory's lines are rescued, nothing is lost."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from meshfab.domain.factories import FactoryStatus
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer
from meshfab.domain.orders import Order
from meshfab.domain.principals import Principal
from meshfab.engines import routing
from meshfab.services import factories, network, orders
from meshfab.services.network_problem import NetworkView
from meshfab.services.platform import Platform
from meshfab.store.capacity import lock_buckets, write_reserved
from meshfab.store.tables import BucketRow, OrderLineRow, OutboxRow, PromiseRow, ReservationRow
from tests.conftest import Keys
from tests.test_oversell import first_complete

MERCHANT = Principal.parse("merchant:teamkit")
OPERATOR = Principal.parse("operator")


def place(platform: Platform, template: str, quantity: int, count: int) -> list[Order]:
    options = first_complete(platform, template)
    command = orders.PlaceOrder(
        buyer=Buyer(name="Ada", email="ada@example.com"),
        ship_to=Address(name="Ada", line1="1 High St", city="Leeds", postal_code="LS1", country="GB"),
        lines=[orders.LineRequest(template, options, quantity)],
    )
    return [orders.place_order(platform, MERCHANT, command) for _ in range(count)]


def assert_books_balance(platform: Platform) -> None:
    with platform.uow() as uow:
        held: dict[tuple, int] = defaultdict(int)
        for r in uow.session.scalars(select(ReservationRow)):
            held[(r.factory_id, r.capability, r.day)] += r.minutes
        for bucket in uow.session.scalars(select(BucketRow).where(BucketRow.reserved > 0)):
            key = (bucket.factory_id, bucket.capability, bucket.day)
            assert bucket.reserved == held.pop(key, 0) and bucket.reserved <= bucket.available, key
        assert not held, f"reservations without bucket minutes: {held}"


@pytest.mark.parametrize("margin", [0, 1439])
def test_a_dark_factory_loses_every_unstarted_line_in_one_replan(demo: Platform, margin: int) -> None:
    placed = place(demo, "flag", 3, 4)
    demo.settings.handover_margin_minutes = margin  # moved lines are dated with the quote's hand-over margin
    line_ids = [o.lines[0].id for o in placed]
    victim = placed[0].lines[0].factory_id
    assert victim is not None
    demo.on_change = pokes = []  # type: ignore[assignment]
    demo.on_change = pokes.append  # type: ignore[assignment]
    factories.set_status(demo, OPERATOR, victim, FactoryStatus.dark)
    assert pokes == ["factory-dark"]
    run_id = network.replan_network(demo, trigger="test", time_limit=3)
    run = network.get_run(demo, OPERATOR, run_id)
    with demo.uow() as uow:
        where = {i: f for i, f in uow.session.execute(select(OrderLineRow.id, OrderLineRow.factory_id))}
        assert all(where[i] != victim for i in line_ids)
        assert (
            uow.session.scalar(
                select(func.count()).select_from(ReservationRow).where(ReservationRow.factory_id == victim)
            )
            == 0
        )
        assert uow.session.scalar(select(func.count()).select_from(PromiseRow)) == 4
        moved_from = {
            e.payload["from"]
            for e in uow.session.scalars(select(OutboxRow).where(OutboxRow.type == "allocation.changed"))
        }
    moved_from_victim = [i for i in line_ids if str(i) in run["moved"]]
    assert len(moved_from_victim) == sum(1 for o in placed if o.lines[0].factory_id == victim) >= 1
    assert moved_from >= {victim}
    assert run["unassigned"] == [] and run["lines"] == 4 and run["lower_bound"] <= run["objective"] + 1e-6
    assert run["cost_after"]["unassigned"] == 0
    now = demo.clock.now()
    with demo.uow() as uow:  # moved lines are planned on days still ahead, and made before they are handed over
        for promise in uow.session.scalars(select(PromiseRow).where(PromiseRow.line_id.in_(moved_from_victim))):
            assert now <= promise.ready_at, promise.ready_at
            assert promise.ready_at + timedelta(minutes=margin) <= promise.ship_at, (promise.ready_at, promise.ship_at)
    assert_books_balance(demo)


def test_a_moved_line_keeps_a_service_as_fast_as_the_one_the_buyer_chose(demo: Platform) -> None:
    """Quotes on the spot take the fastest offer; a re-plan that moves the line must not put its parcel on a
    cheaper, slower lane (the plan prices every route with its cheapest lane, the move applies the buyer's)."""
    placed = place(demo, "flag", 3, 4)
    line_ids = [o.lines[0].id for o in placed]
    with demo.uow() as uow:
        lanes = {lane.id: lane for lane in uow.lanes.list()}
        before = {p.line_id: p.lane_id for p in uow.session.scalars(select(PromiseRow))}
    hours = {k: v.transit_hours_p95 + 24 * v.customs_days for k, v in lanes.items()}
    victim = placed[0].lines[0].factory_id
    assert victim is not None
    factories.set_status(demo, OPERATOR, victim, FactoryStatus.dark)
    run = network.get_run(demo, OPERATOR, network.replan_network(demo, trigger="test", time_limit=3))
    moved = [i for i in line_ids if str(i) in run["moved"]]
    assert moved
    with demo.uow() as uow:
        after = {
            p.line_id: (p.factory_id, p.lane_id)
            for p in uow.session.scalars(select(PromiseRow).where(PromiseRow.line_id.in_(moved)))
        }
        regions = {f.id: f.location.region for f in uow.factories.list()}
    downgrades = 0  # moves that the cheapest lane of the new route would have slowed down
    for line_id in moved:
        factory_id, lane_id = after[line_id]
        region = regions[factory_id]
        routes = {k: hours[k] for k, v in lanes.items() if v.origin_region == region and v.destination_country == "GB"}
        assert lane_id in routes
        wanted = hours[before[line_id]]
        cheapest = min(routes, key=lambda k: (lanes[k].cost_per_parcel, hours[k], k))
        downgrades += routes[cheapest] > wanted
        if min(routes.values()) <= wanted:
            assert routes[lane_id] <= wanted, (lane_id, before[line_id])
        else:
            assert routes[lane_id] == min(routes.values())
    assert downgrades  # the case this guards against does occur here
    assert_books_balance(demo)


def test_replanning_a_plan_just_made_moves_nothing(demo: Platform) -> None:
    place(demo, "flag", 2, 3)
    network.replan_network(demo, trigger="first", time_limit=2)
    second = network.get_run(demo, OPERATOR, network.replan_network(demo, trigger="second", time_limit=2))
    assert second["moved"] == [] and second["skipped"] == []
    assert_books_balance(demo)


def test_lines_that_trade_places_between_full_buckets_both_move(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan may swap two lines between buckets that are full: applied one line at a time, each move waits on
    the other's bucket and both would be skipped; applied together, both go through and the books balance."""
    first, second = (o.lines[0].id for o in place(demo, "flag", 3, 2))
    with demo.uow() as uow:  # the second line a day later, and both days left without a free minute
        held = list(uow.session.scalars(select(ReservationRow).where(ReservationRow.line_id == second)))
        factory_id, day = held[0].factory_id, held[0].day
        later = day + timedelta(days=1)
        assert {(r.factory_id, r.day) for r in held} == {(factory_id, day)}
        whole = {  # what a line re-reserves where it moves: the first line's minutes, set-up included
            r.capability: r.minutes
            for r in uow.session.scalars(select(ReservationRow).where(ReservationRow.line_id == first))
        }
        keys = [(factory_id, r.capability, d) for r in held for d in (day, later)]
        buckets = lock_buckets(uow.session, {f.id: f for f in uow.factories.list()}, keys)
        for r in held:
            buckets[(factory_id, r.capability, day)].reserved -= r.minutes
            buckets[(factory_id, r.capability, later)].reserved += r.minutes
            r.day = later
        for (_, capability, _), bucket in buckets.items():  # a minute short of room for either line alone
            bucket.available = bucket.reserved + whole[capability] - 1
        write_reserved(uow.session, buckets.values())
        for (f, c, d), bucket in buckets.items():
            uow.session.execute(
                update(BucketRow)
                .where(BucketRow.factory_id == f, BucketRow.capability == c, BucketRow.day == d)
                .values(available=bucket.available)
            )
        uow.commit()
    assert_books_balance(demo)
    views: list[NetworkView] = []
    read, solve = network.read_network, network.routing.solve

    def seen(*args: Any, **kwargs: Any) -> NetworkView:
        views.append(read(*args, **kwargs))
        return views[-1]

    def swapped(*args: Any, **kwargs: Any) -> routing.RoutingResult:
        base = views[-1].base
        trade = {str(first): (factory_id, (later - base).days), str(second): (factory_id, (day - base).days)}
        return dataclasses.replace(solve(*args, **kwargs), assignment=trade)

    monkeypatch.setattr(network, "read_network", seen)
    monkeypatch.setattr(network.routing, "solve", swapped)
    run = network.get_run(demo, OPERATOR, network.replan_network(demo, trigger="swap", time_limit=1))
    assert sorted(run["moved"]) == sorted([str(first), str(second)]) and run["skipped"] == []
    with demo.uow() as uow:
        days = dict(uow.session.execute(select(ReservationRow.line_id, ReservationRow.day)).all())
    assert (days[first], days[second]) == (later, day)
    assert_books_balance(demo)


def test_lines_nobody_can_make_are_reported_and_keep_their_minutes(demo: Platform) -> None:
    placed = place(demo, "medal", 5, 2)
    with demo.uow() as uow:
        makers = [f.id for f in uow.factories.list() if {"cast", "dye"} <= f.capabilities]
        held_before = uow.session.scalar(select(func.sum(ReservationRow.minutes)))
    for factory_id in makers:
        factories.set_status(demo, OPERATOR, factory_id, FactoryStatus.dark)
    run = network.get_run(demo, OPERATOR, network.replan_network(demo, trigger="test", time_limit=2))
    assert sorted(run["unassigned"]) == sorted(str(o.lines[0].id) for o in placed)
    with demo.uow() as uow:
        assert uow.session.scalar(select(func.sum(ReservationRow.minutes))) == held_before
        statuses = set(uow.session.scalars(select(PromiseRow.status)))
    assert statuses == {"at_risk"}
    assert_books_balance(demo)


def test_planning_runs_over_http_are_for_the_operator(client: TestClient, keys: Keys, demo: Platform) -> None:
    place(demo, "flag", 2, 2)
    created = client.post("/v1/planning/replan", json={"time_limit": 2}, headers=keys("operator"))
    assert created.status_code == 201, created.text
    run = created.json()
    assert {"cost_before", "cost_after", "lower_bound", "gap", "moved", "seconds", "lines"} <= run.keys()
    assert client.get(f"/v1/planning/runs/{run['id']}", headers=keys("operator")).json()["id"] == run["id"]
    assert client.get(f"/v1/planning/runs/{run['id']}", headers=keys("merchant:teamkit")).status_code == 403
    assert client.post("/v1/planning/replan", headers=keys("factory:yiwu-01")).status_code == 403
    missing = client.get("/v1/planning/runs/00000000-0000-0000-0000-000000000000", headers=keys("operator"))
    assert missing.status_code == 404


def test_a_promise_at_risk_is_told_again_only_when_its_best_date_gets_later(demo: Platform) -> None:
    placed = place(demo, "flag", 2, 1)
    line_id = placed[0].lines[0].id
    with demo.uow() as uow:  # a promise no plan can keep: due today
        uow.session.execute(update(PromiseRow).values(delivery_by=demo.clock.now().date()))
        uow.commit()

    def replan() -> tuple[int, Any]:
        network.replan_network(demo, trigger="test", time_limit=1)
        with demo.uow() as uow:
            told = uow.session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.type == "promise.at_risk")
            )
            promise = uow.session.get(PromiseRow, line_id)
            assert promise is not None and promise.status == "at_risk"
            return told, promise.risk_best_by

    told, best = replan()
    assert told == 1 and best is not None and best > demo.clock.now().date()
    assert replan() == (1, best), "the same best date again is no news"
    with demo.uow() as uow:  # the buyer was last told an earlier date: the plan's date is worse news
        uow.session.execute(update(PromiseRow).values(risk_best_by=best - timedelta(days=2)))
        uow.commit()
    assert replan() == (2, best)
    with demo.uow() as uow:  # told a later date: the plan's is better but still late, kept without an event
        uow.session.execute(update(PromiseRow).values(risk_best_by=best + timedelta(days=2)))
        uow.commit()
    assert replan() == (2, best)
