"""Finished lines become parcels: one per factory, address (and order) and ship day, weighed from the templates.

Rules:

* **Grouping.** Lines from one factory to one address that leave on the same local day share a parcel; by
  default lines of different orders do not (an order's parcels are its own: tracking, customs value and
  refunds stay per order), ``merge_orders=True`` lifts that.
* **Ship day.** The factory's local day of the first handover after ``ready_at``: the ready day if it is a
  working day and the line is ready by the latest cutoff of the lanes serving the destination, else the next
  working day (someone has to hand it over). Same rule as the promise engine.
* **Boxes.** Each template packs in its own boxes (its packing rule): the units of one template in a group
  fill ``units_per_box`` boxes in line order, the last box partly. Weight = units × unit weight + boxes × box
  weight.
* **Split.** A parcel weighs at most ``max_parcel_grams`` (30 kg, the courier limit): boxes are laid into
  parcels in order, a new parcel started when the next box would exceed it; a line may then span parcels.
  A single box over the limit cannot ship and is refused (``ParcelTooHeavy``).
* **Size class** comes from the largest box, by the sum of its sides parsed from the box name
  (``carton-60x40x40``): ``small`` ≤ 90 cm, ``medium`` ≤ 150 cm, ``large`` ≤ 300 cm, else ``oversize``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol, TypeVar
from uuid import UUID

from meshfab.domain.catalog import Packing
from meshfab.domain.errors import InvalidInput, NotFound
from meshfab.domain.factories import Factory
from meshfab.domain.geo import Address
from meshfab.domain.lanes import Lane

MAX_PARCEL_GRAMS = 30_000
_DIMS = re.compile(r"(\d+)x(\d+)x(\d+)")


class ParcelTooHeavy(InvalidInput):
    kind = "parcel-too-heavy"


class NoLane(NotFound):
    kind = "no-lane"


@dataclass(frozen=True)
class FinishedLine:
    """A finished order line as consolidation needs it; values and weights are per unit."""

    line_id: UUID
    order_id: UUID
    factory_id: str
    address: Address
    template: str
    description: str
    hs_code: str
    origin_country: str
    quantity: int
    unit_weight_grams: int
    unit_value: int
    currency: str
    packing: Packing
    ready_at: datetime


@dataclass(frozen=True)
class ParcelItem:
    """Units of one line in one parcel (attributes named as ``engines.customs.DeclarableItem``)."""

    line_id: UUID
    order_id: UUID
    template: str
    description: str
    hs_code: str
    origin_country: str
    quantity: int
    unit_weight_grams: int
    unit_value: int
    currency: str


@dataclass(frozen=True)
class Box:
    box: str
    template: str
    units: int
    weight_grams: int


@dataclass(frozen=True)
class ParcelPlan:
    key: str
    """deterministic: factory, first order (or address), ship day and sequence; usable as an idempotency key"""
    factory_id: str
    origin_country: str
    address: Address
    ship_day: date
    ready_at: datetime
    items: tuple[ParcelItem, ...]
    boxes: tuple[Box, ...]
    order_ids: tuple[UUID, ...] = field(default=())

    @property
    def destination_country(self) -> str:
        return self.address.country

    @property
    def weight_grams(self) -> int:
        return sum(b.weight_grams for b in self.boxes)

    @property
    def value(self) -> int:
        return sum(i.quantity * i.unit_value for i in self.items)

    @property
    def size_class(self) -> str:
        return max((size_class(b.box) for b in self.boxes), key=_SIZES.index)


_SIZES = ["small", "medium", "large", "oversize"]


def size_class(box: str) -> str:
    """Size class of a box from the ``LxWxH`` (cm) in its name; a name without sizes counts as ``large``."""
    found = _DIMS.search(box)
    if found is None:
        return "large"
    girth = sum(int(x) for x in found.groups())
    return "small" if girth <= 90 else "medium" if girth <= 150 else "large" if girth <= 300 else "oversize"


def next_cutoff(factory: Factory, cutoff: time, ready_at: datetime) -> datetime:
    """The first cutoff at or after ``ready_at`` on a working day of the factory (its local calendar)."""
    if ready_at.tzinfo is None:
        raise ValueError("ready_at must be an aware UTC instant")
    day = factory.local_day(ready_at)
    for _ in range(366):
        if factory.calendar.is_working_day(day) and ready_at <= factory.at_local(day, cutoff):
            return factory.at_local(day, cutoff)
        day += timedelta(days=1)
    raise NoLane(f"factory {factory.id} has no working day within a year")


def consolidate(
    finished_lines: Sequence[FinishedLine],
    factories: Mapping[str, Factory],
    lanes: Sequence[Lane],
    *,
    merge_orders: bool = False,
    max_parcel_grams: int = MAX_PARCEL_GRAMS,
) -> list[ParcelPlan]:
    """Parcel plans for finished lines, in a deterministic order (ship day, factory, key)."""
    groups: dict[tuple, list[FinishedLine]] = {}
    for line in finished_lines:
        factory = factories.get(line.factory_id)
        if factory is None:
            raise NotFound(f"factory {line.factory_id!r} is unknown")
        if line.quantity < 1 or line.unit_weight_grams < 1:
            raise InvalidInput(f"line {line.line_id} needs a quantity and a unit weight of at least 1")
        cutoffs = [
            lane.cutoff
            for lane in lanes
            if lane.origin_region == factory.location.region and lane.destination_country == line.address.country
        ]
        if not cutoffs:
            raise NoLane(f"no lane from {factory.location.region} to {line.address.country}")
        ship_day = factory.local_day(next_cutoff(factory, max(cutoffs), line.ready_at))
        key = (line.factory_id, line.address, ship_day, None if merge_orders else line.order_id)
        groups.setdefault(key, []).append(line)
    plans: list[ParcelPlan] = []
    for (factory_id, address, ship_day, _), lines in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0])):
        plans += _pack(factories[factory_id], address, ship_day, lines, max_parcel_grams)
    return plans


def _pack(
    factory: Factory, address: Address, ship_day: date, lines: list[FinishedLine], limit: int
) -> list[ParcelPlan]:
    parcels = _parcels(lines, limit)
    anchor = str(lines[0].order_id)
    keys = [f"{factory.id}:{anchor}:{ship_day}:{n}" for n in range(len(parcels))]
    return [_plan(factory, address, ship_day, key, p) for key, p in zip(keys, parcels, strict=True)]


class Packable(Protocol):
    """What packing reads of a line: a finished line, or a line still being quoted."""

    @property
    def template(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_weight_grams(self) -> int: ...
    @property
    def packing(self) -> Packing: ...


@dataclass(frozen=True)
class _Alone:
    template: str
    quantity: int
    unit_weight_grams: int
    packing: Packing


def parcel_weights(
    template: str, quantity: int, unit_weight_grams: int, packing: Packing, max_parcel_grams: int = MAX_PARCEL_GRAMS
) -> tuple[int, ...]:
    """The weights of the parcels a line fills when it ships alone, boxes included: what the quote prices, so
    that the shipping price a buyer sees is what the carrier bills (a line sharing a parcel costs no more)."""
    line = _Alone(template, quantity, max(1, unit_weight_grams), packing)
    return tuple(sum(box.weight_grams for box, _ in parcel) for parcel in _parcels([line], max_parcel_grams))


L = TypeVar("L", bound=Packable)


def _parcels(lines: Sequence[L], limit: int) -> list[list[tuple[Box, list[tuple[L, int]]]]]:
    """The lines' units in boxes (per template, in line order) and the boxes laid into parcels under ``limit``."""
    boxes: list[tuple[Box, list[tuple[L, int]]]] = []
    by_template: dict[str, list[L]] = {}
    for line in lines:
        by_template.setdefault(line.template, []).append(line)
    for template, group in by_template.items():
        packing = group[0].packing
        content: list[tuple[L, int]] = []
        for line in group:
            left = line.quantity
            while left:
                room = packing.units_per_box - sum(n for _, n in content)
                take = min(room, left)
                content.append((line, take))
                left -= take
                if take == room:
                    boxes.append((_box(packing, template, content, limit), content))
                    content = []
        if content:
            boxes.append((_box(packing, template, content, limit), content))
    parcels: list[list[tuple[Box, list[tuple[L, int]]]]] = [[]]
    for entry in boxes:
        if parcels[-1] and sum(b.weight_grams for b, _ in parcels[-1]) + entry[0].weight_grams > limit:
            parcels.append([])
        parcels[-1].append(entry)
    return parcels


def _box(packing: Packing, template: str, content: Sequence[tuple[Packable, int]], limit: int) -> Box:
    units = sum(n for _, n in content)
    weight = sum(line.unit_weight_grams * n for line, n in content) + packing.box_weight_grams
    if weight > limit:
        raise ParcelTooHeavy(f"a box of {units} × {template} weighs {weight} g, over the {limit} g parcel limit")
    return Box(packing.box, template, units, weight)


def _plan(factory: Factory, address: Address, ship_day: date, key: str, boxes: list) -> ParcelPlan:
    quantities: dict[UUID, tuple[FinishedLine, int]] = {}
    for _, content in boxes:
        for line, n in content:
            quantities[line.line_id] = (line, quantities.get(line.line_id, (line, 0))[1] + n)
    items = tuple(
        ParcelItem(
            line.line_id, line.order_id, line.template, line.description, line.hs_code, line.origin_country,
            n, line.unit_weight_grams, line.unit_value, line.currency,
        )
        for line, n in quantities.values()
    )  # fmt: skip
    ready = max(line.ready_at for line, _ in quantities.values())
    orders = tuple(dict.fromkeys(line.order_id for line, _ in quantities.values()))
    return ParcelPlan(
        key, factory.id, factory.location.country, address, ship_day, ready, items, tuple(b for b, _ in boxes), orders
    )
