"""Repositories and the unit of work against real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time
from uuid import uuid4

from sqlalchemy import select

from meshfab.domain.events import Event
from meshfab.domain.lanes import Lane
from meshfab.domain.merchants import Channel, Merchant
from meshfab.services.platform import Platform
from meshfab.store.repositories import ONE_STATEMENT, insert_rows, update_rows
from meshfab.store.tables import OutboxRow

LANE = Lane(
    id="yiwu-us-std",
    origin_region="yiwu",
    destination_country="US",
    carrier="Post",
    service="std",
    transit_hours_p50=100,
    transit_hours_p95=160,
    cutoff=time(15),
    currency="USD",
    cost_per_parcel=450,
    cost_per_kg=120,
    customs_days=1,
)


def test_unit_of_work_rolls_back_unless_committed(platform: Platform) -> None:
    with platform.uow() as uow:
        uow.lanes.put(LANE)
        uow.emit(Event("lane.added", "lane:x", {}, datetime.now(UTC)))
    with platform.uow() as uow:
        assert uow.lanes.list() == []
        assert uow.session.query(OutboxRow).count() == 0


def test_committed_changes_and_their_events_persist_together(platform: Platform) -> None:
    with platform.uow() as uow:
        uow.lanes.put(LANE)
        uow.emit(Event("lane.added", "lane:x", {"id": LANE.id}, datetime.now(UTC)))
        uow.commit()
    with platform.uow() as uow:
        assert uow.lanes.get(LANE.id) == LANE
        assert [r.payload for r in uow.session.query(OutboxRow)] == [{"id": LANE.id}]


def test_an_exception_inside_the_unit_of_work_loses_the_partial_change(platform: Platform) -> None:
    merchant = Merchant(id="shop", name="Shop", channel=Channel.store, country="CN", currency="CNY")
    try:
        with platform.uow() as uow:
            uow.merchants.put(merchant)
            uow.session.flush()
            raise RuntimeError(str(uuid4()))
    except RuntimeError:
        pass
    with platform.uow() as uow:
        assert uow.merchants.get("shop") is None


def test_put_updates_in_place(platform: Platform) -> None:
    with platform.uow() as uow:
        assert uow.lanes.put(LANE) is True
        uow.commit()
    with platform.uow() as uow:
        assert uow.lanes.put(LANE.model_copy(update={"cost_per_parcel": 500})) is False
        uow.commit()
    with platform.uow() as uow:
        assert uow.lanes.get(LANE.id).cost_per_parcel == 500  # type: ignore[union-attr]


def test_demo_factories_round_trip_faithfully(demo: Platform) -> None:
    from meshfab.bootstrap import DEMO_DIR
    from meshfab.services.world import parse_world

    world = parse_world(DEMO_DIR)
    with demo.uow() as uow:
        assert uow.factories.list() == sorted(world.factories, key=lambda f: f.id)
        assert {t.key: t for t in uow.templates.list()} == {t.key: t for t in world.templates}


def test_lanes_are_read_by_origin_region_and_an_unknown_region_has_none(demo: Platform) -> None:
    with demo.uow() as uow:
        every = uow.lanes.list()
        region = every[0].origin_region
        assert uow.lanes.list(origin_region=region) == [lane for lane in every if lane.origin_region == region]
        assert uow.lanes.list(origin_region="nowhere") == []


def test_events_beyond_one_statement_are_all_written_in_the_order_emitted(platform: Platform) -> None:
    emitted = [f"subject:{i}" for i in range(ONE_STATEMENT * 4 + 37)]  # several chunks and a remainder
    with platform.uow() as uow:
        for subject in emitted:
            uow.emit(Event("test.emitted", subject, {"n": subject}, datetime(2026, 11, 23, tzinfo=UTC)))
        uow.commit()
    with platform.uow() as uow:
        rows = uow.session.execute(select(OutboxRow.subject, OutboxRow.payload).order_by(OutboxRow.id)).all()
    assert [subject for subject, _ in rows] == emitted and all(payload == {"n": s} for s, payload in rows)


def test_rows_updated_in_bulk_each_get_their_own_values_nulls_included(platform: Platform) -> None:
    at = datetime(2026, 11, 23, tzinfo=UTC)
    count = ONE_STATEMENT * 2 + 5  # several statements
    with platform.uow() as uow:
        insert_rows(
            uow.session,
            OutboxRow,
            [
                {"type": "t", "subject": f"s{i}", "payload": {}, "occurred_at": at, "published_at": None}
                for i in range(count)
            ],
        )
        uow.commit()
    with platform.uow() as uow:
        ids = list(uow.session.scalars(select(OutboxRow.id).order_by(OutboxRow.id)))
        changes = [  # every other row published, the rest set back to unpublished: a NULL among the values
            {"id": i, "subject": f"new{n}", "published_at": None if n % 2 else at} for n, i in enumerate(ids)
        ]
        update_rows(uow.session, OutboxRow, "id", changes[1:])  # the first row is left as it was
        uow.commit()
    with platform.uow() as uow:
        rows = uow.session.execute(select(OutboxRow.subject, OutboxRow.published_at).order_by(OutboxRow.id)).all()
    assert rows[0] == ("s0", None)
    assert [tuple(r) for r in rows[1:]] == [(f"new{n}", None if n % 2 else at) for n in range(1, count)]
