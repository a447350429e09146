"""Consolidation of finished lines into parcels, and the lane chosen against the promise."""

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

import numpy as np
import pytest

from meshfab.domain.catalog import Packing
from meshfab.domain.errors import InvalidInput, NotFound
from meshfab.domain.factories import Factory
from meshfab.domain.geo import Address
from meshfab.domain.lanes import Lane, tariff
from meshfab.engines.parcels import (
    FinishedLine,
    NoLane,
    ParcelTooHeavy,
    choose_service,
    consolidate,
    parcel_weights,
    shipping_cost,
    size_class,
)

MONDAY_10_SHANGHAI = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHIRT = Packing(units_per_box=50, box="carton-60x40x40", box_weight_grams=700)
BAND = Packing(units_per_box=500, box="carton-40x30x20", box_weight_grams=400)
BERLIN = Address(name="FC Mitte", line1="Torstr. 1", city="Berlin", postal_code="10119", country="DE")
MUNICH = Address(name="TSV Nord", line1="Leopoldstr. 9", city="München", postal_code="80802", country="DE")
ORDER = UUID(int=1)


def factory(fid: str = "yiwu-01", region: str = "yiwu") -> Factory:
    return Factory.model_validate(
        {
            "id": fid,
            "name": "Yiwu Print",
            "location": {"lat": 29.3, "lon": 120.1, "region": region, "country": "CN", "timezone": "Asia/Shanghai"},
            "workcenters": [{"capability": "pack", "count": 1}],
            "calendar": {
                "shifts": [{"weekdays": [0, 1, 2, 3, 4], "start": "08:00", "end": "17:00"}],
                "holidays": ["2026-11-30"],
            },
            "currency": "USD",
            "cost_per_minute": {"pack": 4},
        }
    )


def lane(lid: str, p95: int, cutoff: str, per_parcel: int, per_kg: int, customs_days: int = 1) -> Lane:
    return Lane(
        id=lid, origin_region="yiwu", destination_country="DE", carrier="C", service=lid, transit_hours_p50=p95 // 2,
        transit_hours_p95=p95, cutoff=time.fromisoformat(cutoff), currency="USD", cost_per_parcel=per_parcel,
        cost_per_kg=per_kg, customs_days=customs_days,
    )  # fmt: skip


CHEAP = lane("cheap", 240, "15:00", 300, 80)
FAST = lane("fast", 96, "17:00", 900, 200)
FACTORIES = {"yiwu-01": factory(), "yiwu-02": factory("yiwu-02")}


def line(qty: int, grams: int, *, ready: datetime = MONDAY_10_SHANGHAI, **changes: object) -> FinishedLine:
    fields = dict(
        line_id=uuid4(), order_id=ORDER, factory_id="yiwu-01", address=BERLIN, template="team-shirt",
        description="Custom team shirt, polyester", hs_code="610910", origin_country="CN", quantity=qty,
        unit_weight_grams=grams, unit_value=1200, currency="USD", packing=SHIRT, ready_at=ready,
    )  # fmt: skip
    fields.update(changes)
    return FinishedLine(**fields)  # type: ignore[arg-type]


def test_lines_of_one_order_to_one_address_share_a_parcel_weighed_from_packing() -> None:
    a, b = line(30, 175), line(30, 195, ready=MONDAY_10_SHANGHAI + timedelta(hours=3))
    [parcel] = consolidate([a, b], FACTORIES, [CHEAP, FAST])
    assert [box.units for box in parcel.boxes] == [50, 10]
    assert parcel.weight_grams == 30 * 175 + 30 * 195 + 2 * 700
    assert {i.line_id: i.quantity for i in parcel.items} == {a.line_id: 30, b.line_id: 30}
    assert parcel.ship_day == date(2026, 11, 23) and parcel.ready_at == b.ready_at
    assert parcel.value == 60 * 1200 and parcel.size_class == "medium" and parcel.origin_country == "CN"


def test_each_template_packs_in_its_own_boxes() -> None:
    band = line(100, 10, template="sports-wristband", hs_code="392690", packing=BAND, unit_value=150)
    [parcel] = consolidate([line(10, 175), band], FACTORIES, [CHEAP])
    assert sorted((b.template, b.units, b.weight_grams) for b in parcel.boxes) == [
        ("sports-wristband", 100, 100 * 10 + 400),
        ("team-shirt", 10, 10 * 175 + 700),
    ]


def test_ship_day_follows_the_latest_cutoff_and_the_factory_calendar() -> None:
    before = line(5, 175, ready=datetime(2026, 11, 23, 8, 59, tzinfo=UTC))  # 16:59 local, fast lane leaves 17:00
    after = line(5, 175, ready=datetime(2026, 11, 23, 9, 1, tzinfo=UTC))
    friday_late = line(5, 175, ready=datetime(2026, 11, 27, 10, 0, tzinfo=UTC), order_id=UUID(int=2))
    plans = consolidate([before, after, friday_late], FACTORIES, [CHEAP, FAST])
    assert [p.ship_day for p in plans] == [date(2026, 11, 23), date(2026, 11, 24), date(2026, 12, 1)]
    only_cheap = consolidate([before], FACTORIES, [CHEAP])
    assert only_cheap[0].ship_day == date(2026, 11, 24)


def test_orders_addresses_and_factories_split_parcels() -> None:
    lines = [line(5, 175), line(5, 175, order_id=UUID(int=2)), line(5, 175, address=MUNICH),
             line(5, 175, factory_id="yiwu-02")]  # fmt: skip
    assert len(consolidate(lines, FACTORIES, [CHEAP])) == 4
    merged = consolidate(lines, FACTORIES, [CHEAP], merge_orders=True)
    assert len(merged) == 3
    assert sorted(len(p.order_ids) for p in merged) == [1, 1, 2]


def test_heavy_groups_split_by_whole_boxes_and_keep_every_unit() -> None:
    big = line(230, 220)
    plans = consolidate([big], FACTORIES, [CHEAP], max_parcel_grams=25_000)
    assert [p.weight_grams for p in plans] == [2 * (50 * 220 + 700), 2 * (50 * 220 + 700), 30 * 220 + 700]
    assert all(p.weight_grams <= 25_000 for p in plans)
    assert sum(i.quantity for p in plans for i in p.items) == 230
    assert len({p.key for p in plans}) == 3


def test_a_box_over_the_parcel_limit_is_refused() -> None:
    with pytest.raises(ParcelTooHeavy, match="over the 5000 g"):
        consolidate([line(50, 175)], FACTORIES, [CHEAP], max_parcel_grams=5_000)


def test_unknown_factory_missing_lane_and_empty_lines_are_refused() -> None:
    with pytest.raises(NotFound, match="unknown"):
        consolidate([line(1, 175, factory_id="ghost")], FACTORIES, [CHEAP])
    with pytest.raises(NoLane, match="no lane from yiwu to GB"):
        consolidate([line(1, 175, address=BERLIN.model_copy(update={"country": "GB"}))], FACTORIES, [CHEAP])
    with pytest.raises(InvalidInput):
        consolidate([line(0, 175)], FACTORIES, [CHEAP])
    assert consolidate([], FACTORIES, [CHEAP]) == []


def test_size_class_from_the_box_name() -> None:
    assert [size_class(b) for b in ["carton-30x20x10", "carton-60x40x40", "tube-150x10x10", "crate-200x80x60",
                                    "bag"]] == ["small", "medium", "large", "oversize", "large"]  # fmt: skip


def test_cost_rounds_weight_up_to_100_g_and_money_up_to_the_cent() -> None:
    assert shipping_cost(CHEAP, 2_350).amount == 300 + 24 * 80 // 10
    assert shipping_cost(lane("odd", 100, "15:00", 300, 125), 2_201).amount == 300 + 288  # 23 hg × 12.5 = 287.5
    assert shipping_cost(CHEAP, 1).amount == 300 + 8
    with pytest.raises(InvalidInput):
        shipping_cost(CHEAP, 0)


@pytest.mark.parametrize(
    ("qty", "grams", "limit"),
    [(1, 175, 30_000), (50, 175, 30_000), (51, 175, 30_000), (230, 220, 25_000), (3, 1, 30_000), (500, 120, 30_000)],
)
def test_a_line_alone_is_weighed_for_its_quote_as_consolidation_packs_it(qty: int, grams: int, limit: int) -> None:
    packed = consolidate([line(qty, grams)], FACTORIES, [CHEAP], max_parcel_grams=limit)
    assert parcel_weights("team-shirt", qty, grams, SHIRT, limit) == tuple(p.weight_grams for p in packed)


def test_a_quote_weighs_a_weightless_product_as_shipping_does_and_refuses_a_box_too_heavy() -> None:
    assert parcel_weights("team-shirt", 2, 0, SHIRT) == parcel_weights("team-shirt", 2, 1, SHIRT) == (702,)
    with pytest.raises(ParcelTooHeavy):
        parcel_weights("team-shirt", 50, 175, SHIRT, 5_000)


def test_the_tariff_prices_every_lane_at_once_as_each_parcel_is_billed() -> None:
    lanes = [CHEAP, FAST, lane("odd", 100, "15:00", 300, 125)]
    weights = parcel_weights("team-shirt", 230, 220, SHIRT, 25_000)
    at_once = tariff(np.array([x.cost_per_parcel for x in lanes]), np.array([x.cost_per_kg for x in lanes]), weights)
    assert at_once.tolist() == [sum(shipping_cost(x, w).amount for w in weights) for x in lanes]
    assert tariff(300, 80, ()) == 0


def parcel(ready: datetime = MONDAY_10_SHANGHAI):
    return consolidate([line(10, 175, ready=ready)], FACTORIES, [CHEAP, FAST])[0]


def test_cheapest_lane_keeping_the_promise_is_chosen() -> None:
    # cheap: Mon 15:00 CST = 07:00 UTC, + 240 h + 1 customs day = Fri 2026-12-04 07:00 UTC
    choice = choose_service(parcel(), [CHEAP, FAST], FACTORIES["yiwu-01"], date(2026, 12, 4), MONDAY_10_SHANGHAI)
    assert choice.lane.id == "cheap" and choice.keeps_promise
    assert choice.ship_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert choice.expected_delivery_p95 == datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert choice.cost.amount == 300 + 25 * 8 and choice.cost.currency == "USD"  # 10×175 + 700 = 2450 g


def test_a_dearer_lane_is_taken_when_only_it_keeps_the_promise() -> None:
    choice = choose_service(parcel(), [CHEAP, FAST], FACTORIES["yiwu-01"], date(2026, 12, 3), MONDAY_10_SHANGHAI)
    assert choice.lane.id == "fast" and choice.keeps_promise
    assert choice.delivery_date == date(2026, 11, 28)


def test_fastest_lane_is_taken_and_reported_when_no_lane_keeps_the_promise() -> None:
    choice = choose_service(parcel(), [CHEAP, FAST], FACTORIES["yiwu-01"], date(2026, 11, 27), MONDAY_10_SHANGHAI)
    assert choice.lane.id == "fast" and not choice.keeps_promise


def test_ship_at_skips_weekends_and_holidays() -> None:
    friday_evening = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # 18:00 local, Monday 30th is a holiday
    choice = choose_service(parcel(friday_evening), [FAST], FACTORIES["yiwu-01"], date(2027, 1, 1), friday_evening)
    assert choice.ship_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    later_now = choose_service(parcel(), [FAST], FACTORIES["yiwu-01"], date(2027, 1, 1), friday_evening)
    assert later_now.ship_at == choice.ship_at


def test_service_choice_refuses_what_it_cannot_compare() -> None:
    f = FACTORIES["yiwu-01"]
    with pytest.raises(NoLane):
        choose_service(parcel(), [lane("x", 100, "15:00", 1, 1).model_copy(update={"destination_country": "FR"})],
                       f, date(2027, 1, 1), MONDAY_10_SHANGHAI)  # fmt: skip
    euro = FAST.model_copy(update={"id": "euro", "currency": "EUR"})
    with pytest.raises(InvalidInput, match="several currencies"):
        choose_service(parcel(), [CHEAP, euro], f, date(2027, 1, 1), MONDAY_10_SHANGHAI)
    with pytest.raises(ValueError, match="aware"):
        choose_service(parcel(), [CHEAP], f, date(2027, 1, 1), datetime(2026, 11, 23))
