"""Lanes learn their real hand-over-to-delivery time from the parcels they carried, and promises count it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from uuid import UUID

from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, select, update

from meshfab.domain.lanes import Lane
from meshfab.services.lane_learning import MIN_PARCELS, learn_lane_transit, learned_extra_hours
from meshfab.services.platform import Platform
from meshfab.store.repositories import LaneRepository
from meshfab.store.tables import LaneRow, OutboxRow, ParcelRow
from tests.conftest import Keys
from tests.test_promise_api import quote
from tests.test_shipping_service import MERCHANT, order_and_finish


def _delivered_copies(platform: Platform, model: ParcelRow, lane_id: str, n: int, hours: float) -> None:
    """``n`` parcels like ``model`` on ``lane_id``, each delivered ``hours`` after its hand-over, ten days ago."""
    columns = [c.key for c in ParcelRow.__table__.columns]
    with platform.uow() as uow:
        for i in range(n):
            row = ParcelRow(**{c: getattr(model, c) for c in columns})
            row.id, row.lane_id = uuid.uuid4(), lane_id
            row.key = f"learn-{lane_id}-{row.id}"
            row.ship_at = platform.clock.now() - timedelta(days=10, hours=i)
            row.delivered_at = row.ship_at + timedelta(hours=hours)
            uow.session.add(row)
        uow.commit()


def _a_shipped_parcel(client: TestClient, keys: Keys, demo: Platform) -> ParcelRow:
    """A real order made and shipped, and its parcel (detached): the model the copies are made from."""
    order, _ = order_and_finish(client, keys, demo)
    with demo.uow() as uow:
        model = uow.session.scalars(select(ParcelRow).where(ParcelRow.order_id == UUID(order["id"]))).one()
        uow.session.expunge(model)
    return model


def _same_service(lane: LaneRow) -> ColumnElement[bool]:
    """The lanes whose records pool with ``lane``'s: the same service to the same country."""
    return (LaneRow.destination_country == lane.destination_country) & (LaneRow.service == lane.service)


def test_the_extra_is_what_the_record_runs_past_the_stated_allowance() -> None:
    assert learned_extra_hours(30.2) == 31
    assert learned_extra_hours(0.0) == 0
    assert learned_extra_hours(-40.0) == 0  # faster than stated: nothing is taken off the stated figure
    lane = Lane.model_validate(
        {
            "id": "a-b",
            "origin_region": "a",
            "destination_country": "GB",
            "carrier": "c",
            "service": "s",
            "transit_hours_p50": 50,
            "transit_hours_p95": 100,
            "cutoff": "17:00",
            "currency": "USD",
            "cost_per_parcel": 1,
            "cost_per_kg": 1,
            "customs_days": 2,
            "learned_extra_hours": 7,
        }
    )
    assert lane.allowance_hours == 100 + 48 + 7


def test_a_late_lane_learns_its_extra_hours_and_unlearns_them_when_it_recovers(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    model = _a_shipped_parcel(client, keys, demo)
    with demo.uow() as uow:
        lane = uow.session.get(LaneRow, model.lane_id)
        assert lane is not None and lane.learned_extra_hours == 0
        stated, lane_id = lane.transit_hours_p95 + 24 * lane.customs_days, lane.id
        service = _same_service(lane)
        siblings = set(uow.session.scalars(select(LaneRow.id).where(service, LaneRow.id != lane_id)))
        other = uow.session.scalars(select(LaneRow.id).where(~service).order_by(LaneRow.id)).first()
        assert siblings and other is not None  # the same service from other regions, and another service
    _delivered_copies(demo, model, lane_id, MIN_PARCELS + 10, stated + 30)
    _delivered_copies(demo, model, other, MIN_PARCELS - 1, 10_000)  # far too late, but too few to say much

    # the lane learns from its own record, and its service's other lanes, with none of their own, from the pool
    group = siblings | {lane_id}
    assert learn_lane_transit(demo) == dict.fromkeys(group, 30)
    assert learn_lane_transit(demo) == {}  # nothing new: no change and no second event
    with demo.uow() as uow:
        changes = uow.session.scalars(select(OutboxRow).where(OutboxRow.type == "lane.allowance_changed")).all()
        seen = {(c.payload["lane_id"], c.payload["before"], c.payload["after"]) for c in changes}
        assert len(changes) == len(group) and seen == {(x, 0, 30) for x in group}
        learned = uow.session.get(LaneRow, lane_id)
        assert learned is not None and learned.learned_extra_hours == 30
        assert LaneRepository(uow.session).get(lane_id).allowance_hours == stated + 30  # type: ignore[union-attr]
        # configuring the lane again (a new price) keeps what was learnt
        configured = LaneRepository(uow.session).get(lane_id)
        assert configured is not None
        LaneRepository(uow.session).put(configured.model_copy(update={"cost_per_parcel": 1, "learned_extra_hours": 0}))
        uow.commit()
        again = uow.session.get(LaneRow, lane_id)
        assert again is not None and again.cost_per_parcel == 1 and again.learned_extra_hours == 30

    with demo.uow() as uow:  # the carrier gets faster: the record moves the figure back down
        uow.session.execute(
            update(ParcelRow)
            .where(ParcelRow.key.like(f"learn-{lane_id}-%"))
            .values(delivered_at=ParcelRow.ship_at + timedelta(hours=stated - 10))
        )
        uow.commit()
    listed = {x["id"]: x for x in client.get("/v1/lanes", headers=keys("operator")).json()}
    assert listed[lane_id]["learned_extra_hours"] == 30  # operators see what promises count
    assert learn_lane_transit(demo) == dict.fromkeys(group, 0)


def test_quotes_count_what_a_lane_has_learnt(client: TestClient, keys: Keys, demo: Platform) -> None:
    def fastest() -> date:
        offers = quote(client, keys(MERCHANT)).json()["offers"]  # type: ignore[attr-defined]
        return min(date.fromisoformat(o["delivery_by"]) for o in offers)

    before = fastest()
    with demo.uow() as uow:
        uow.session.execute(update(LaneRow).where(LaneRow.destination_country == "GB").values(learned_extra_hours=100))
        uow.commit()
    demo.capacity.invalidate()
    assert (fastest() - before).days >= 4  # 100 hours more on every lane to GB


def test_the_quantile_covered_is_a_setting_and_a_higher_one_learns_the_tail(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    model = _a_shipped_parcel(client, keys, demo)
    with demo.uow() as uow:
        own = uow.session.get(LaneRow, model.lane_id)
        assert own is not None
        lane = uow.session.scalars(select(LaneRow).where(~_same_service(own)).order_by(LaneRow.id)).first()
        assert lane is not None
        stated, lane_id = lane.transit_hours_p95 + 24 * lane.customs_days, lane.id
        # its service to its country: lanes without a record of their own learn from the pool
        group = set(uow.session.scalars(select(LaneRow.id).where(_same_service(lane))))
    _delivered_copies(demo, model, lane_id, 38, stated)
    _delivered_copies(demo, model, lane_id, 2, stated + 100)  # one parcel in twenty held for four days

    demo.settings.transit_quantile = 0.95
    assert learn_lane_transit(demo) == dict.fromkeys(group, 5)  # the 95th percentile sits just inside the tail
    demo.settings.transit_quantile = 0.98
    assert learn_lane_transit(demo) == dict.fromkeys(group, 100)  # the 98th covers the held parcels
