"""The scheduling cycle of `meshfab serve`: who tells it of new work, what one pass schedules, and a scrap that
wakes it at once."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from meshfab.api.app import create_app
from meshfab.domain.errors import InvalidInput
from meshfab.domain.factories import FactoryStatus
from meshfab.domain.principals import Principal
from meshfab.domain.work import Progress
from meshfab.services import orders, scheduling
from meshfab.services.factories import set_status
from meshfab.services.platform import Platform
from meshfab.services.scheduler import Scheduler
from meshfab.store.tables import PlanningRunRow, ScheduleRow, WorkOrderRow
from tests.test_network_service import place

OPERATOR = Principal.parse("operator")


@pytest.fixture
def told(demo: Platform) -> list[tuple[str, bool]]:
    heard: list[tuple[str, bool]] = []
    demo.on_new_work = lambda factory, at_once: heard.append((factory, at_once))
    return heard


def schedules(platform: Platform) -> dict[str, object]:
    with platform.uow() as uow:
        return {f: at for f, at in uow.session.execute(select(ScheduleRow.factory_id, ScheduleRow.computed_at))}


def test_a_placed_order_tells_the_cycle_of_its_factory_and_a_refused_one_tells_nothing(
    demo: Platform, told: list[tuple[str, bool]]
) -> None:
    placed = place(demo, "flag", 3, 2)
    factory_id = placed[0].lines[0].factory_id
    assert told == [(factory_id, False), (placed[1].lines[0].factory_id, False)]
    line = orders.LineRequest("flag", dict(placed[0].lines[0].options), 3)
    refused = orders.PlaceOrder(buyer=placed[0].buyer, ship_to=placed[0].ship_to, lines=[line], merchant_id="nobody")
    with pytest.raises(InvalidInput):
        orders.place_order(demo, OPERATOR, refused)
    assert len(told) == 2
    assert schedules(demo) == {}  # placing schedules nothing by itself: the cycle does


def test_a_factory_back_at_work_is_told_and_one_going_dark_is_not(demo: Platform, told: list[tuple[str, bool]]) -> None:
    factory_id = place(demo, "flag", 3, 1)[0].lines[0].factory_id
    assert factory_id is not None
    told.clear()
    set_status(demo, OPERATOR, factory_id, FactoryStatus.dark)
    assert told == []  # the re-plan reacts to that (`on_change`)
    set_status(demo, OPERATOR, factory_id, FactoryStatus.active)
    set_status(demo, OPERATOR, factory_id, FactoryStatus.active)  # no change, nothing to tell
    assert told == [(factory_id, False)]


def test_a_pass_schedules_the_told_factories_and_keeps_a_failed_one_due(
    demo: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = Scheduler(demo, every_minutes=60)
    demo.on_new_work = scheduler.tell
    factory_id = place(demo, "flag", 3, 2)[0].lines[0].factory_id
    scheduler.tell("atlantis", False)
    with caplog.at_level(logging.ERROR, logger="meshfab.services.scheduler"):
        assert scheduler.run_once() == [factory_id]
        assert set(schedules(demo)) == {factory_id}
        assert scheduler.run_once() == []  # nothing new, nothing waiting beyond its window
    failures = [r.getMessage() for r in caplog.records]
    assert failures == ["scheduling atlantis failed; it stays due"] * 2


def test_a_factory_with_work_beyond_its_window_is_due_again_but_not_one_scheduled_this_instant(
    demo: Platform,
) -> None:
    factory_id = place(demo, "flag", 3, 1)[0].lines[0].factory_id
    assert factory_id is not None
    scheduling.schedule_factory(demo, factory_id, time_limit=3)
    assert scheduling.factories_due(demo, [factory_id]) == []  # scheduled at this very instant
    with demo.uow() as uow:
        uow.session.get(ScheduleRow, factory_id).waiting_lines = 2  # type: ignore[union-attr]
        uow.commit()
    demo.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    assert scheduling.factories_due(demo, []) == [factory_id]


def released(platform: Platform, factory_id: str, timeout: float = 60.0) -> list[tuple[UUID, int, list[str]]]:
    """The factory's released work orders (id, quantity, lines), once there are some: the pass runs on its own
    thread."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with platform.uow() as uow:
            rows = uow.session.execute(
                select(WorkOrderRow.id, WorkOrderRow.quantity, WorkOrderRow.line_ids).where(
                    WorkOrderRow.factory_id == factory_id, WorkOrderRow.status == "released"
                )
            ).all()
        if rows:
            return [(i, q, list(lines)) for i, q, lines in rows]
        time.sleep(0.05)
    return []


def test_the_running_scheduler_schedules_every_factory_on_start_and_a_scrap_at_once(demo: Platform) -> None:
    placed = place(demo, "flag", 5, 1)  # before the process starts: nobody told the scheduler
    factory_id = placed[0].lines[0].factory_id
    assert factory_id is not None
    scheduler = Scheduler(demo, every_minutes=60)  # the test never waits an hour: only wake-ups run it
    scheduler.start()
    try:
        lot = released(demo, factory_id)
        assert len(lot) == 1
        demo.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]  # the floor reports later on
        scheduling.report_progress(demo, OPERATOR, lot[0][0], Progress.start)
        scheduling.report_progress(demo, OPERATOR, lot[0][0], Progress.scrap, 2)  # wakes the pass
        deadline, remake = time.monotonic() + 60, []
        while not remake and time.monotonic() < deadline:
            time.sleep(0.05)
            remake = [w for w in released(demo, factory_id) if w[0] != lot[0][0]]
    finally:
        scheduler.stop()
    assert [(quantity, lines) for _, quantity, lines in remake] == [(2, lot[0][2][:1])]


def test_serve_background_jobs_replan_when_a_factory_goes_dark_and_stop_cleanly(demo: Platform) -> None:
    factory_id = place(demo, "flag", 3, 1)[0].lines[0].factory_id
    assert factory_id is not None
    demo.settings.replan_minutes = demo.settings.schedule_minutes = 60  # only pokes run them here
    with TestClient(create_app(demo, background=True)):
        assert released(demo, factory_id)  # the scheduler's first pass
        set_status(demo, OPERATOR, factory_id, FactoryStatus.dark)  # pokes the re-planner
        deadline, triggers = time.monotonic() + 60, []
        while "factory-dark" not in triggers and time.monotonic() < deadline:
            time.sleep(0.05)
            with demo.uow() as uow:
                triggers = list(uow.session.scalars(select(PlanningRunRow.trigger)))
    assert triggers == ["factory-dark"]
