"""From finished work to a delivered parcel: customs, service choice, tracking, promises kept or broken."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from types import ModuleType
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update

from meshfab.clock import FixedClock
from meshfab.domain.errors import NotFound
from meshfab.domain.parcels import TrackingEvent
from meshfab.domain.principals import Principal
from meshfab.domain.work import WorkOrderStatus
from meshfab.services.platform import Platform
from meshfab.services.shipping import parcel_finished_lines, record_event, record_events, record_scans
from meshfab.store import repositories
from meshfab.store.migrate import MIGRATIONS
from meshfab.store.tables import OutboxRow, ParcelRow, PromiseRow, WorkOrderRow
from tests.conftest import Keys
from tests.helpers import SHIP_TO, complete_options

MERCHANT = "merchant:teamkit"
OPERATOR = Principal.parse("operator")


def order_and_finish(
    client: TestClient, keys: Keys, demo: Platform, country: str = "GB", promise_today: bool = False
) -> tuple[dict, str]:
    """Place a flag order, schedule its factory, and run every work order through start and finish."""
    headers = keys(MERCHANT)
    body = {
        "buyer": {"name": "Ada", "email": "ada@example.com"},
        "ship_to": SHIP_TO | {"country": country},
        "lines": [{"template": "flag", "options": complete_options(client, headers, "flag"), "quantity": 4}],
    }
    order = client.post("/v1/orders", json=body, headers=headers).json()
    with demo.uow() as uow:
        promise = uow.session.get(PromiseRow, order["lines"][0]["id"])
        assert promise is not None
        factory_id = promise.factory_id
        if promise_today:  # a promise no lane can keep any more
            promise.delivery_by = demo.clock.now().date()
            uow.commit()
    finish_all(client, keys, factory_id)
    return order, factory_id


def finish_all(client: TestClient, keys: Keys, factory_id: str) -> None:
    """Schedule the factory and run every released work order through start and finish."""
    floor = keys(f"factory:{factory_id}")
    client.post(f"/v1/factories/{factory_id}/schedule", headers=floor)
    for work in client.get(f"/v1/factories/{factory_id}/work-orders", headers=floor).json():
        if work["status"] != "released":
            continue  # an earlier order's, done already
        assert client.post(f"/v1/work-orders/{work['id']}/progress", json={"event": "start"}, headers=floor).is_success
        assert client.post(f"/v1/work-orders/{work['id']}/progress", json={"event": "finish"}, headers=floor).is_success


def scan(client: TestClient, headers: dict, parcel_id: str, milestone: str, at: str) -> dict:
    response = client.post(
        f"/v1/parcels/{parcel_id}/events", json={"milestone": milestone, "occurred_at": at}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_order_travels_to_delivery_with_customs_and_its_promise_kept(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    floor = keys(f"factory:{factory_id}")
    tracking = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()
    assert tracking["status"] == "produced" and len(tracking["parcels"]) == 1
    parcel = tracking["parcels"][0]
    assert parcel["weight_grams"] > 0 and parcel["shipping_cost"]["amount"] > 0
    declaration = parcel["customs"]["declaration"]
    line = declaration["lines"][0]
    for field in ("description", "hs_code", "quantity", "value", "weight_grams", "origin_country"):
        assert line[field], field
    assert declaration["incoterm"] == "DDP" and declaration["currency"] == "USD"  # teamkit ships DDP
    assert parcel["customs"]["estimate"]["total"] >= 0
    booked = client.post(
        f"/v1/parcels/{parcel['id']}/booking", json={"carrier": "Yanwen", "tracking_number": "YW1"}, headers=floor
    )
    assert booked.status_code == 200 and booked.json()["tracking_number"] == "YW1"
    ship = parcel["ship_at"]
    scan(client, floor, parcel["id"], "handed_over", ship)
    scan(client, floor, parcel["id"], "customs_cleared", ship.replace("T", "T")[:10] + "T23:00:00Z")
    scan(client, floor, parcel["id"], "in_transit", ship[:10] + "T20:00:00Z")  # arrives late, earlier in time
    assert client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["status"] == "shipped"
    done = scan(client, floor, parcel["id"], "delivered", ship[:10] + "T23:30:00Z")
    assert done["status"] == "delivered" and [e["milestone"] for e in done["events"]] == [
        "handed_over",
        "in_transit",
        "customs_cleared",
        "delivered",
    ]
    final = client.get(f"/v1/orders/{order['id']}", headers=keys(MERCHANT)).json()
    assert final["status"] == "delivered" and final["lines"][0]["promise"]["status"] == "delivered"
    level = client.get(
        "/v1/service-level",
        params={"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"},
        headers=keys("operator"),
    ).json()
    assert level["overall"]["promise_kept_rate"] == 1.0 and level["overall"]["lines"] == 1
    assert list(level["destination_country"]) == ["GB"]


@pytest.mark.parametrize("quantity", [4, 90])
def test_the_shipping_price_quoted_is_what_the_carrier_bills_for_the_lines_parcels(
    client: TestClient, keys: Keys, demo: Platform, quantity: int
) -> None:
    """Boxes weigh too and carriers bill started 100 g: a quote that priced the bare product weight sold every
    parcel below its bill. 90 flags fill three boxes."""
    headers = keys(MERCHANT)
    ship_to = SHIP_TO | {"country": "GB"}
    body = {"template": "flag", "options": complete_options(client, headers, "flag"), "quantity": quantity}
    offers = client.post("/v1/quotes", json=body | {"ship_to": ship_to}, headers=headers).json()["offers"]
    cheapest = min(offers, key=lambda o: o["price"]["amount"])
    order = {"buyer": {"name": "Ada", "email": "ada@example.com"}, "ship_to": ship_to}
    placed = client.post("/v1/orders", json=order | {"lines": [{"offer_id": cheapest["offer_id"]}]}, headers=headers)
    assert placed.status_code == 201, placed.text
    with demo.uow() as uow:
        factory_id = uow.session.scalar(
            select(PromiseRow.factory_id).where(PromiseRow.line_id == UUID(placed.json()["lines"][0]["id"]))
        )
    assert factory_id is not None
    finish_all(client, keys, factory_id)
    parcels = client.get(f"/v1/orders/{placed.json()['id']}/tracking", headers=headers).json()["parcels"]
    assert parcels and sum(p["shipping_cost"]["amount"] for p in parcels) == cheapest["shipping_price"]["amount"]


def test_a_late_delivery_breaks_the_promise_by_the_hours_late(client: TestClient, keys: Keys, demo: Platform) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    floor = keys(f"factory:{factory_id}")
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    promised = parcel["promised_by"]
    scan(client, floor, parcel["id"], "delivered", f"{promised}T12:00:00Z".replace(promised, _next_days(promised, 3)))
    with demo.uow() as uow:
        promise = uow.session.get(PromiseRow, order["lines"][0]["id"])
        assert promise is not None and promise.status == "broken" and promise.late_hours and promise.late_hours > 24
        assert "promise.broken" in uow.session.scalars(select(OutboxRow.type)).all()


def _next_days(day: str, n: int) -> str:
    from datetime import date

    return (date.fromisoformat(day) + timedelta(days=n)).isoformat()


def test_a_customs_hold_that_breaks_the_promise_flags_it(client: TestClient, keys: Keys, demo: Platform) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    floor = keys(f"factory:{factory_id}")
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    scan(client, floor, parcel["id"], "customs_hold", f"{parcel['promised_by']}T00:00:00Z")
    with demo.uow() as uow:
        assert uow.session.get(PromiseRow, order["lines"][0]["id"]).status == "at_risk"  # type: ignore[union-attr]


def test_domestic_parcels_have_no_customs_and_silent_parcels_are_flagged(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    order, _ = order_and_finish(client, keys, demo, country="CN")
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    assert parcel["customs"] is None and parcel["missed_scan"] is False
    assert isinstance(demo.clock, FixedClock)
    demo.clock.advance(timedelta(days=5))
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    assert parcel["missed_scan"] is True


def test_only_the_parcels_factory_may_report_on_it(client: TestClient, keys: Keys, demo: Platform) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    event = {"milestone": "handed_over", "occurred_at": parcel["ship_at"]}
    other = "factory:yiwu-01" if factory_id != "yiwu-01" else "factory:yiwu-02"
    assert client.post(f"/v1/parcels/{parcel['id']}/events", json=event, headers=keys(other)).status_code == 404
    assert client.post(f"/v1/parcels/{parcel['id']}/events", json=event, headers=keys(MERCHANT)).status_code == 403
    bad = client.post(
        f"/v1/parcels/{parcel['id']}/events",
        json={"milestone": "teleported", "occurred_at": parcel["ship_at"]},
        headers=keys("operator"),
    )
    assert bad.status_code == 422
    naive = client.post(
        f"/v1/parcels/{parcel['id']}/events",
        json={"milestone": "in_transit", "occurred_at": "2026-11-24T10:00:00"},
        headers=keys("operator"),
    )
    assert naive.status_code == 422
    assert client.get(f"/v1/orders/{order['id']}/tracking", headers=keys("merchant:giftmarket")).status_code == 404
    assert client.get(f"/v1/factories/{factory_id}/parcels", headers=keys(f"factory:{factory_id}")).json()


def test_when_no_service_keeps_the_promise_the_fastest_is_taken_and_the_promise_flagged(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    order, _ = order_and_finish(client, keys, demo, promise_today=True)
    parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
    lanes = client.get("/v1/lanes", params={"destination_country": "GB"}, headers=keys("operator")).json()
    region = next(lane["origin_region"] for lane in lanes if lane["id"] == parcel["lane_id"])
    fastest = min(
        lane["transit_hours_p95"] + 24 * lane["customs_days"] for lane in lanes if lane["origin_region"] == region
    )
    chosen = next(lane for lane in lanes if lane["id"] == parcel["lane_id"])
    assert chosen["transit_hours_p95"] + 24 * chosen["customs_days"] == fastest
    with demo.uow() as uow:
        assert uow.session.get(PromiseRow, order["lines"][0]["id"]).status == "at_risk"  # type: ignore[union-attr]


def test_a_finished_line_left_without_a_parcel_is_parcelled_once_on_the_next_call(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    line_id = order["lines"][0]["id"]
    with demo.uow() as uow:  # a crash between the last finish and its parcel: the work is done, no parcel
        uow.session.execute(delete(ParcelRow).where(ParcelRow.order_id == UUID(order["id"])))
        uow.session.execute(update(WorkOrderRow).values(parcelled_at=None))  # as the finish left its lots
        uow.commit()
    made = parcel_finished_lines(demo, factory_id)
    assert len(made) == 1
    assert parcel_finished_lines(demo, factory_id) == []  # a second call finds nothing left to parcel
    with demo.uow() as uow:
        parcel = uow.session.get(ParcelRow, made[0])
        assert parcel is not None and parcel.line_ids == [line_id]


def test_a_line_with_work_still_open_is_not_parcelled(client: TestClient, keys: Keys, demo: Platform) -> None:
    order, factory_id = order_and_finish(client, keys, demo)
    line_id = order["lines"][0]["id"]
    with demo.uow() as uow:
        uow.session.execute(delete(ParcelRow).where(ParcelRow.order_id == UUID(order["id"])))
        uow.session.execute(update(WorkOrderRow).values(parcelled_at=None))  # no parcel: no lot was parcelled
        work = uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.line_ids.contains([line_id]))).first()
        assert work is not None
        work.status, work_id = WorkOrderStatus.started.value, work.id  # one lot of the line back on the floor
        uow.commit()
    assert parcel_finished_lines(demo, factory_id) == []
    with demo.uow() as uow:
        again = uow.session.get(WorkOrderRow, work_id)
        assert again is not None
        again.status = WorkOrderStatus.finished.value
        uow.commit()
    assert len(parcel_finished_lines(demo, factory_id)) == 1  # its last lot done: now it ships


def test_scans_recorded_together_do_what_they_do_one_at_a_time(client: TestClient, keys: Keys, demo: Platform) -> None:
    """A carrier poll hands a parcel's scans over together: held past the date, a late scan, then delivered."""
    outcomes = []
    for together in (False, True):
        order, factory_id = order_and_finish(client, keys, demo)
        parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
        ship, promised = parcel["ship_at"], parcel["promised_by"]
        scans = [
            TrackingEvent.model_validate({"milestone": m, "occurred_at": at})
            for m, at in [
                ("handed_over", ship),
                ("customs_hold", f"{promised}T00:00:00Z"),
                ("in_transit", ship[:10] + "T20:00:00Z"),  # reported late, earlier in time
                ("delivered", f"{_next_days(promised, 2)}T12:00:00Z"),
            ]
        ]
        parcel_id, floor = UUID(parcel["id"]), Principal.parse(f"factory:{factory_id}")
        if together:
            view = record_events(demo, floor, parcel_id, scans)
        else:
            view = [record_event(demo, floor, parcel_id, s) for s in scans][-1]
        with demo.uow() as uow:
            promise = uow.session.get(PromiseRow, UUID(order["lines"][0]["id"]))
            assert promise is not None
            events = uow.session.scalars(
                select(OutboxRow.type).where(OutboxRow.subject.in_([f"parcel:{parcel_id}", f"line:{promise.line_id}"]))
            ).all()
            outcome = (promise.status, promise.late_hours, sorted(events))
        history = client.get(f"/v1/orders/{order['id']}", headers=keys(MERCHANT)).json()
        outcomes.append((view["status"], view["events"], outcome, history["status"]))
    one_at_a_time, together = outcomes
    assert together == one_at_a_time
    status, _, (promise_status, late, events), order_status = together
    assert (status, promise_status, order_status) == ("delivered", "broken", "delivered") and late and late > 24
    assert {"promise.at_risk", "promise.broken", "parcel.customs_hold"} <= set(events)
    with pytest.raises(NotFound):
        record_events(demo, Principal.parse("factory:nowhere"), UUID(int=1), scans)


def _journeys(client: TestClient, keys: Keys, demo: Platform) -> dict[UUID, tuple[dict, list[TrackingEvent]]]:
    """Three fresh parcels and a poll's worth of scans for each: one held past its date and delivered late, one
    delivered on time, one only handed over."""
    out: dict[UUID, tuple[dict, list[TrackingEvent]]] = {}
    for n in range(3):
        order, _ = order_and_finish(client, keys, demo)
        parcel = client.get(f"/v1/orders/{order['id']}/tracking", headers=keys(MERCHANT)).json()["parcels"][0]
        ship, promised = parcel["ship_at"], parcel["promised_by"]
        steps = [("handed_over", ship)]
        if n == 0:
            steps += [("customs_hold", f"{promised}T00:00:00Z"), ("delivered", f"{_next_days(promised, 2)}T12:00:00Z")]
        if n == 1:
            steps += [("delivered", f"{promised}T09:00:00Z")]
        scans = [TrackingEvent.model_validate({"milestone": m, "occurred_at": at}) for m, at in steps]
        out[UUID(parcel["id"])] = (order, scans)
    return out


def _outcome(client: TestClient, keys: Keys, demo: Platform, parcel_id: UUID, order: dict) -> tuple:
    line_id = UUID(order["lines"][0]["id"])
    with demo.uow() as uow:
        promise = uow.session.get(PromiseRow, line_id)
        parcel = uow.session.get(ParcelRow, parcel_id)
        assert promise is not None and parcel is not None
        events = uow.session.scalars(
            select(OutboxRow.type).where(OutboxRow.subject.in_([f"parcel:{parcel_id}", f"line:{line_id}"]))
        ).all()
        seen = (parcel.status, parcel.delivered_at, promise.status, promise.late_hours, sorted(events))
    return (*seen, client.get(f"/v1/orders/{order['id']}", headers=keys(MERCHANT)).json()["status"])


def test_a_poll_of_many_parcels_recorded_at_once_does_what_one_call_per_parcel_does(
    client: TestClient, keys: Keys, demo: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repositories, "KEYS_PER_STATEMENT", 2)  # three parcels: their reads come in two chunks
    outcomes = []
    for together in (False, True):
        journeys = _journeys(client, keys, demo)
        if together:
            views = record_scans(demo, OPERATOR, {pid: scans for pid, (_, scans) in journeys.items()})
        else:
            views = {pid: record_events(demo, OPERATOR, pid, scans) for pid, (_, scans) in journeys.items()}
        assert list(views) == list(journeys)
        outcomes.append(
            [
                (views[pid]["status"], len(views[pid]["events"]), _outcome(client, keys, demo, pid, order)[2:])
                for pid, (order, _) in journeys.items()
            ]
        )
    one_by_one, together = outcomes
    assert together == one_by_one
    late, on_time, moving = together
    assert (late[0], late[2][0], late[2][-1]) == ("delivered", "broken", "delivered")
    assert {"promise.at_risk", "promise.broken", "parcel.customs_hold"} <= set(late[2][2])
    assert (on_time[0], on_time[2][0], on_time[2][1], on_time[2][-1]) == ("delivered", "delivered", 0.0, "delivered")
    assert (moving[0], moving[2][0], moving[2][-1]) == ("handed_over", "kept", "shipped")


def test_a_poll_naming_an_unknown_or_foreign_parcel_writes_nothing(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    journeys = _journeys(client, keys, demo)
    before = {pid: _outcome(client, keys, demo, pid, order) for pid, (order, _) in journeys.items()}
    scans = {pid: s for pid, (_, s) in journeys.items()}
    unknown = UUID(int=7)
    with pytest.raises(NotFound, match=str(unknown)):
        record_scans(demo, OPERATOR, {**scans, unknown: next(iter(scans.values()))})
    first = next(iter(scans))
    with demo.uow() as uow:
        owner = uow.session.get(ParcelRow, first).factory_id  # type: ignore[union-attr]
    other = Principal.parse("factory:yiwu-01" if owner != "yiwu-01" else "factory:yiwu-02")
    with pytest.raises(NotFound, match=str(first)):  # another factory's parcel is unknown, not forbidden
        record_scans(demo, other, scans)
    assert {pid: _outcome(client, keys, demo, pid, order) for pid, (order, _) in journeys.items()} == before


def test_a_parcelled_lot_is_marked_and_a_remade_one_is_not_parcelled_twice(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    """Parcels are made from the lots not yet marked parcelled; a line's parcels are found through its order."""
    order, factory_id = order_and_finish(client, keys, demo)
    line_id = order["lines"][0]["id"]
    with demo.uow() as uow:
        lots = uow.session.scalars(select(WorkOrderRow).where(WorkOrderRow.factory_id == factory_id)).all()
        assert lots and all(lot.parcelled_at is not None for lot in lots), "its line is in a parcel: marked"
        remade = WorkOrderRow(  # scrap reported on the finished lot, remade and finished after the parcel left
            id=uuid4(), factory_id=factory_id, capability=lots[0].capability, setup_family=lots[0].setup_family,
            line_ids=[line_id], quantity=1, due_at=lots[0].due_at, status="finished", scrap=0, lot_id="again",
            finished_at=demo.clock.now(),
        )  # fmt: skip
        uow.session.add(remade)
        uow.commit()
    assert parcel_finished_lines(demo, factory_id) == [], "the line has its parcel already"
    with demo.uow() as uow:
        assert uow.session.get(WorkOrderRow, remade.id).parcelled_at is not None  # type: ignore[union-attr]
        assert len(uow.session.scalars(select(ParcelRow).where(ParcelRow.order_id == UUID(order["id"]))).all()) == 1


def test_the_migration_marks_exactly_the_lots_whose_lines_are_all_in_parcels(
    client: TestClient, keys: Keys, demo: Platform
) -> None:
    shipped, factory_id = order_and_finish(client, keys, demo)
    waiting, _ = order_and_finish(client, keys, demo)
    with demo.uow() as uow:  # the second order's parcel not made yet, and nothing marked, as before the column
        uow.session.execute(delete(ParcelRow).where(ParcelRow.order_id == UUID(waiting["id"])))
        uow.session.execute(update(WorkOrderRow).values(parcelled_at=None))
        uow.session.execute(text(_migration("0008").BACKFILL))
        uow.commit()
        marked = {
            line
            for lines, parcelled_at in uow.session.execute(select(WorkOrderRow.line_ids, WorkOrderRow.parcelled_at))
            if parcelled_at is not None
            for line in lines
        }
    assert marked == {shipped["lines"][0]["id"]}
    assert len(parcel_finished_lines(demo, factory_id)) == 1, "the unmarked lot's line is parcelled next"


def _migration(revision: str) -> ModuleType:
    path = next((MIGRATIONS / "versions").glob(f"{revision}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
