"""Factory scheduling as a service: work orders released, the floor reports, scrap makes work, late is told."""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from meshfab.domain.errors import NotFound
from meshfab.domain.principals import Principal
from meshfab.domain.work import Progress
from meshfab.services import scheduling
from meshfab.services.platform import Platform
from meshfab.services.schedule_problem import read_factory_work
from meshfab.store.tables import OutboxRow, PromiseRow, ScheduleRow, WorkOrderRow
from tests.conftest import Keys
from tests.test_network_service import place

OPERATOR = Principal.parse("operator")


def scheduled(demo: Platform, template: str = "flag", quantity: int = 3, count: int = 3) -> tuple[str, dict]:
    placed = place(demo, template, quantity, count)
    factory_id = placed[0].lines[0].factory_id
    assert factory_id is not None
    return factory_id, scheduling.schedule_factory(demo, factory_id, time_limit=3)


def test_scheduling_releases_one_work_order_per_lot_with_a_sound_timeline(demo: Platform) -> None:
    factory_id, schedule = scheduled(demo)
    assert schedule["status"] in {"optimal", "feasible"}
    ops = [op for timeline in schedule["workcenters"].values() for op in timeline]
    assert ops and all(op["end"] > op["start"] for op in ops)
    for timeline in schedule["workcenters"].values():
        ordered = sorted(timeline, key=lambda op: op["start"])
        assert all(a["end"] <= b["start"] - b["setup"] for a, b in itertools.pairwise(ordered))
    with demo.uow() as uow:
        orders = uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id)).all()
        lots = {op["lot_id"] for op in ops}
        assert {w.lot_id for w in orders} == lots and all(w.status == "released" for w in orders)
        released = uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.type == "work_order.released")
        )
        assert released == len(lots)
    again = scheduling.schedule_factory(demo, factory_id, time_limit=3)
    assert again["status"] in {"optimal", "feasible"}
    with demo.uow() as uow:
        assert uow.session.scalar(  # same lots: no second release
            select(func.count()).select_from(OutboxRow).where(OutboxRow.type == "work_order.released")
        ) == len(lots)


def test_the_same_problem_again_reuses_its_schedule(demo: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    factory_id, first = scheduled(demo)
    solves: list[float] = []
    real = scheduling.sch.solve
    monkeypatch.setattr(scheduling.sch, "solve", lambda *a, **k: solves.append(k["time_limit"]) or real(*a, **k))
    again = scheduling.schedule_factory(demo, factory_id, time_limit=3)  # the clock stands still: the same work
    assert solves == [] and again["workcenters"] == first["workcenters"]
    scheduling.schedule_factory(demo, factory_id, time_limit=2)  # asked for another limit: solved anew
    assert solves == [2]


def test_a_limit_scaled_to_the_work_gives_a_small_factory_less_time(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo.settings, "schedule_seconds_per_operation", 0.003)
    solves: list[tuple[int, float]] = []
    real = scheduling.sch.solve

    def solve(problem: Any, **kwargs: Any) -> Any:
        solves.append((sum(len(lot.operations) for lot in problem.lots), kwargs["time_limit"]))
        return real(problem, **kwargs)

    monkeypatch.setattr(scheduling.sch, "solve", solve)
    scheduling.forget_schedules()
    scheduled(demo)
    [(operations, limit)] = solves
    assert operations > 0 and limit == max(scheduling.MIN_SECONDS, 0.003 * operations) < 3


def test_rationing_skips_more_solves_after_each_search_in_a_row_that_did_not_help() -> None:
    rationing = scheduling._Rationing()
    seen = ""
    for _ in range(16):
        searched = rationing.search("f", 4)
        seen += "S" if searched else "."
        if searched:
            rationing.learn("f", False, 4)
    assert seen == "S.S..S....S....S"  # skips 1, 2, then 4 (the cap) after each miss
    rationing.learn("f", True, 4)  # a search that helps ends the rationing
    assert rationing.search("f", 4) and rationing.search("f", 4)
    rationing.learn("g", False, 0)  # no cap: every solve searches
    assert rationing.search("g", 0) and rationing.search("g", 0)


def test_a_factory_whose_searches_do_not_help_gets_its_dispatch_schedule(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo.settings, "schedule_search_backoff", 2)
    scheduling.forget_schedules()
    searched: list[float] = []
    helps = False
    real = scheduling.sch.solve

    def solve(problem: Any, **kwargs: Any) -> Any:
        searched.append(kwargs["time_limit"])
        return dataclasses.replace(real(problem, **kwargs), improved=helps)

    monkeypatch.setattr(scheduling.sch, "solve", solve)
    factory_id, _ = scheduled(demo)  # searched at limit 3; it did not help

    def again(limit: float) -> bool:
        """Schedule with another limit (never a repeat of the last solve); whether it searched."""
        before = len(searched)
        schedule = scheduling.schedule_factory(demo, factory_id, time_limit=limit)
        ops = [op for timeline in schedule["workcenters"].values() for op in timeline]
        assert ops and schedule["status"] in {"optimal", "feasible"}
        if len(searched) == before:
            assert schedule["status"] == "feasible"  # the dispatch schedule: nothing proven
        with demo.uow() as uow:  # every lot of the stored schedule has its work order, searched or not
            released = uow.session.scalars(select(WorkOrderRow.lot_id).where(WorkOrderRow.factory_id == factory_id))
            assert set(released) == {op["lot_id"] for op in ops}
        return len(searched) > before

    assert [again(3 - k / 10) for k in range(1, 8)] == [False, True, False, False, True, False, False]
    helps = True
    assert [again(2.2), again(2.1), again(2.0)] == [True, True, True]  # a search that helps ends the skipping


def test_the_floor_starts_and_finishes_work_and_the_order_follows(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    factory_id, _ = scheduled(demo, count=1)
    floor = keys(f"factory:{factory_id}")
    work = client.get(f"/v1/factories/{factory_id}/work-orders", headers=floor).json()
    assert work, "work orders are visible to their factory"
    first = work[0]["id"]
    assert client.post(f"/v1/work-orders/{first}/progress", json={"event": "finish"}, headers=floor).status_code == 409
    other = "factory:yiwu-01" if factory_id != "yiwu-01" else "factory:yiwu-02"
    assert (
        client.post(f"/v1/work-orders/{first}/progress", json={"event": "start"}, headers=keys(other)).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/work-orders/{first}/progress", json={"event": "start"}, headers=keys("merchant:teamkit")
        ).status_code
        == 403
    )
    started = client.post(f"/v1/work-orders/{first}/progress", json={"event": "start"}, headers=floor)
    assert started.status_code == 200 and started.json()["status"] == "started"
    orders = client.get("/v1/orders", headers=keys("merchant:teamkit")).json()["items"]
    assert orders[0]["status"] == "in_production"
    before = {
        op["operation_id"]: (op["machine_id"], op["at"])
        for ops in client.get(f"/v1/factories/{factory_id}/schedule", headers=floor).json()["workcenters"].values()
        for op in ops
        if op["lot_id"] == work[0]["lot_id"]
    }
    client.post(f"/v1/factories/{factory_id}/schedule", headers=floor)
    after = {
        op["operation_id"]: (op["machine_id"], op["at"])
        for ops in client.get(f"/v1/factories/{factory_id}/schedule", headers=floor).json()["workcenters"].values()
        for op in ops
        if op["lot_id"] == work[0]["lot_id"]
    }
    assert after == before, "started work is never moved"
    for w in work:
        if w["id"] != first:
            client.post(f"/v1/work-orders/{w['id']}/progress", json={"event": "start"}, headers=floor)
        assert client.post(f"/v1/work-orders/{w['id']}/progress", json={"event": "finish"}, headers=floor).is_success
    assert client.get("/v1/orders", headers=keys("merchant:teamkit")).json()["items"][0]["status"] == "produced"


def test_scrap_creates_replacement_work_and_tells_the_scheduler_at_once(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    factory_id, _ = scheduled(demo, count=1, quantity=5)
    told: list[tuple[str, bool]] = []
    demo.on_new_work = lambda factory, at_once: told.append((factory, at_once))
    floor = keys(f"factory:{factory_id}")
    lot = client.get(f"/v1/factories/{factory_id}/work-orders", headers=floor).json()[0]
    demo.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]  # the floor reports later on
    client.post(f"/v1/work-orders/{lot['id']}/progress", json={"event": "start"}, headers=floor)
    bad = client.post(f"/v1/work-orders/{lot['id']}/progress", json={"event": "scrap", "quantity": 999}, headers=floor)
    assert bad.status_code == 422 and told == []  # a refused report makes no work
    scrapped = client.post(
        f"/v1/work-orders/{lot['id']}/progress", json={"event": "scrap", "quantity": 2}, headers=floor
    )
    assert scrapped.status_code == 200 and scrapped.json()["scrap"] == 2
    assert told == [(factory_id, True)]

    def remakes() -> list[dict[str, Any]]:
        work = client.get(f"/v1/factories/{factory_id}/work-orders", headers=floor).json()
        return [w for w in work if w["id"] != lot["id"] and w["line_ids"] == lot["line_ids"][:1]]

    assert [(w["quantity"], w["status"]) for w in remakes()] == [(2, "replacement")]  # the report did not solve
    due, failed = scheduling.schedule_cycle(demo, [factory for factory, _ in told], time_limit=3)
    assert due == [factory_id] and failed == {}
    assert [(w["quantity"], w["status"]) for w in remakes()] == [(2, "released")]


def test_a_schedule_that_misses_the_cutoff_flags_the_promise_at_once(demo: Platform) -> None:
    factory_id, _ = scheduled(demo, count=2)
    with demo.uow() as uow:  # the floor lost time: every cutoff is now in the past
        for promise in uow.session.scalars(select(PromiseRow)):
            promise.ship_at = demo.clock.now().replace(year=2026, month=11, day=22)
        uow.commit()
    scheduling.schedule_factory(demo, factory_id, time_limit=2)
    with demo.uow() as uow:
        assert set(uow.session.scalars(select(PromiseRow.status))) == {"at_risk"}
        events = uow.session.scalars(select(OutboxRow).where(OutboxRow.type == "promise.at_risk")).all()
        assert len(events) == 2 and all(e.payload["new_best_date"] for e in events)


def _stored(demo: Platform, factory_id: str) -> tuple[list, list, list]:
    with demo.uow() as uow:
        row = uow.session.get(ScheduleRow, factory_id)
        assert row is not None
        work = uow.session.execute(
            select(WorkOrderRow.lot_id, WorkOrderRow.id).where(WorkOrderRow.factory_id == factory_id)
        )
        return row.timeline, row.lines, sorted(work)


def test_factories_scheduled_together_get_what_one_at_a_time_gives(demo: Platform) -> None:
    factories = sorted({place(demo, t, 3, 2)[0].lines[0].factory_id or "" for t in ("flag", "medal", "team-shirt")})
    assert len(factories) >= 2
    scheduling.forget_schedules()  # both ways start cold: warm starts from other tests would make them differ
    failed = scheduling.schedule_factories(demo, [*factories, "nowhere"], time_limit=2, workers=2)
    assert list(failed) == ["nowhere"] and isinstance(failed["nowhere"], NotFound)
    together = {f: _stored(demo, f) for f in factories}
    with demo.uow() as uow:  # written one factory after another, in the order given
        released = uow.session.scalars(
            select(OutboxRow.payload).where(OutboxRow.type == "work_order.released").order_by(OutboxRow.id)
        )
        order = [p["factory_id"] for p in released]
        assert order == sorted(order, key=factories.index) and set(order) == set(factories)
    scheduling.forget_schedules()
    for factory_id in factories:
        scheduling.schedule_factory(demo, factory_id, time_limit=2)
    assert {f: _stored(demo, f) for f in factories} == together  # the same lots keep the same work orders


@dataclasses.dataclass(frozen=True)
class _Lot:
    id: Any
    line_ids: list[str]


def _first_released(demo: Platform, factory_id: str) -> _Lot:
    with demo.uow() as uow:
        row = uow.session.execute(
            select(WorkOrderRow.id, WorkOrderRow.line_ids)
            .where(WorkOrderRow.factory_id == factory_id, WorkOrderRow.status == "released")
            .order_by(WorkOrderRow.id)
        ).first()
        assert row is not None
        return _Lot(row.id, list(row.line_ids))


def _while_solving(monkeypatch: pytest.MonkeyPatch, floor: Any) -> None:
    """The floor reports (`floor()`) while a schedule's solve runs, as it may in `meshfab serve`."""
    real = scheduling._solve

    def solve(*args: Any) -> Any:
        floor()
        return real(*args)

    monkeypatch.setattr(scheduling, "_solve", solve)


def test_a_lot_the_floor_finishes_while_its_schedule_solves_is_not_released_again(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory_id, _ = scheduled(demo)
    lot = _first_released(demo, factory_id)
    reports: list[threading.Thread] = []

    def finish() -> None:
        scheduling.report_progress(demo, OPERATOR, lot.id, Progress.start)
        # the finish's parcels wait for the factory row the schedule holds: the report goes on beside it
        reports.append(
            threading.Thread(target=scheduling.report_progress, args=(demo, OPERATOR, lot.id, Progress.finish))
        )
        reports[0].start()
        for _ in range(300):
            with demo.uow() as uow:
                if uow.session.get(WorkOrderRow, lot.id).status == "finished":
                    return
            time.sleep(0.05)
        raise AssertionError("the finish was not recorded")

    _while_solving(monkeypatch, finish)
    schedule = scheduling.schedule_factory(demo, factory_id, time_limit=1)
    reports[0].join(30)
    assert not reports[0].is_alive()
    with demo.uow() as uow:
        work = uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id)).all()
        again = [w for w in work if w.id != lot.id and set(w.line_ids) & set(lot.line_ids)]
        assert again == []  # made once, not twice
        assert uow.session.get(WorkOrderRow, lot.id).status == "finished"
    assert schedule["waiting_lines"] == 0  # nothing else of the lot was held back


def test_schedules_are_private_to_their_factory(client: TestClient, keys: Keys, demo: Platform) -> None:
    assert client.get("/v1/factories/yiwu-01/schedule", headers=keys("factory:yiwu-01")).status_code == 200
    assert client.get("/v1/factories/yiwu-01/schedule", headers=keys("factory:yiwu-02")).status_code == 404
    assert client.get("/v1/factories/yiwu-01/schedule", headers=keys("merchant:teamkit")).status_code == 403
    assert (
        client.post(
            "/v1/work-orders/00000000-0000-0000-0000-000000000000/progress",
            json={"event": "start"},
            headers=keys("operator"),
        ).status_code
        == 404
    )


def test_only_lines_with_a_lot_started_leave_the_schedule_to_the_floor(demo: Platform) -> None:
    factory_id, _ = scheduled(demo, count=2)
    with demo.uow() as uow:
        factory = uow.factories.get(factory_id)
        assert factory is not None
        work = uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id)).all()
        released = {line for w in work for line in w.line_ids}
        demands = read_factory_work(uow.session, factory, demo.clock.now()).demands
        assert released <= set(demands), "released work is still the schedule's to place"
        work[0].status = "started"
        uow.session.flush()
        after = read_factory_work(uow.session, factory, demo.clock.now()).demands
        assert set(after) == set(demands) - set(work[0].line_ids)


def test_work_beyond_the_release_window_waits_and_is_released_when_the_window_reaches_it(
    demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    placed = place(demo, "flag", 3, 3)
    factory_id = placed[0].lines[0].factory_id
    assert factory_id is not None
    now = demo.clock.now()
    first, *later = [str(o.lines[0].id) for o in placed]
    with demo.uow() as uow:  # the first line ships now; the others three weeks on
        for promise in uow.session.scalars(select(PromiseRow)):
            promise.ship_at = now if str(promise.line_id) == first else now + timedelta(days=21)
        uow.commit()
    monkeypatch.setattr(demo.settings, "schedule_release_days", 1 / (24 * 60))  # a one-minute window
    schedule = scheduling.schedule_factory(demo, factory_id, time_limit=2)
    assert schedule["waiting_lines"] == 2
    assert {line["line_id"].split("#")[0] for line in schedule["lines"]} == {first}
    with demo.uow() as uow:
        released = {line for w in uow.session.scalars(select(WorkOrderRow.line_ids)) for line in w}
        assert released == {first}, "only the released line has work on the floor"
        waiting = select(PromiseRow.status).where(PromiseRow.line_id != placed[0].lines[0].id)
        assert set(uow.session.scalars(waiting)) == {"kept"}, "a line that waits is not judged by this schedule"
    monkeypatch.setattr(demo.settings, "schedule_release_days", 30.0)  # the window reaches the others
    schedule = scheduling.schedule_factory(demo, factory_id, time_limit=2)
    assert schedule["waiting_lines"] == 0
    with demo.uow() as uow:
        released = {line for w in uow.session.scalars(select(WorkOrderRow.line_ids)) for line in w}
        assert released == {first, *later}
