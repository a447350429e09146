"""Customs data for a cross-border parcel: one itemised line per product, with what a customs form asks for.

Every field a CN22/CN23 or a courier's commercial invoice needs is required here, so a parcel cannot reach a
carrier with half its customs data: a missing or malformed field is refused with every problem named at once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from meshfab.domain.customs import CustomsRules
from meshfab.domain.errors import InvalidInput, Problem
from meshfab.domain.geo import ISO_3166
from meshfab.domain.merchants import Incoterm
from meshfab.domain.money import ISO_4217

HS_CODE = re.compile(r"^\d{6}(\d{2,4})?$")


class DeclarableItem(Protocol):
    """What customs needs to know of one product line (``ParcelItem`` has exactly these attributes)."""

    @property
    def description(self) -> str: ...
    @property
    def hs_code(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_value(self) -> int: ...
    @property
    def unit_weight_grams(self) -> int: ...
    @property
    def origin_country(self) -> str: ...


@dataclass(frozen=True)
class DeclarationLine:
    description: str
    hs_code: str
    quantity: int
    value: int
    """minor units of the declaration's currency, for the whole quantity"""
    weight_grams: int
    """net weight of the whole quantity"""
    origin_country: str

    @property
    def chapter(self) -> str:
        return self.hs_code[:2]


@dataclass(frozen=True)
class Declaration:
    origin_country: str
    destination_country: str
    incoterm: Incoterm
    currency: str
    lines: tuple[DeclarationLine, ...]
    shipping: int = 0
    """international shipping charged, minor units (part of the customs value in CIF countries)"""

    @property
    def goods_value(self) -> int:
        return sum(line.value for line in self.lines)

    @property
    def net_weight_grams(self) -> int:
        return sum(line.weight_grams for line in self.lines)


def customs_declaration(
    items: Sequence[DeclarableItem],
    origin_country: str,
    destination_country: str,
    incoterm: Incoterm | str,
    currency: str,
    rules: CustomsRules,
    *,
    shipping: int = 0,
) -> Declaration:
    """Itemised customs data; lines with the same description, HS code, origin and unit value are merged.

    Refuses (``InvalidInput``) an incomplete item, a domestic or intra-union shipment (nothing to declare) and
    (``UnknownDestination``) a destination the rules table does not cover, since its duties could not be estimated.
    """
    rules.destination(destination_country)
    problems: list[Problem] = []
    if origin_country not in ISO_3166:
        problems.append(Problem(("origin_country",), f"{origin_country!r} is not a country code"))
    if currency not in ISO_4217:
        problems.append(Problem(("currency",), f"{currency!r} is not a currency code"))
    if incoterm not in {t.value for t in Incoterm}:
        problems.append(Problem(("incoterm",), f"{incoterm!r} is not DDP or DAP"))
    if shipping < 0:
        problems.append(Problem(("shipping",), "shipping cannot be negative"))
    if not items:
        problems.append(Problem(("items",), "a declaration needs at least one item"))
    if not problems and not rules.crosses_border(origin_country, destination_country):
        raise InvalidInput(f"{origin_country} to {destination_country} crosses no customs border")
    merged: dict[tuple[str, str, str, int], list[int]] = {}
    for i, item in enumerate(items):
        problems += _item_problems(i, item)
        key = (item.description.strip(), item.hs_code, item.origin_country, item.unit_value)
        totals = merged.setdefault(key, [0, 0])
        totals[0] += item.quantity
        totals[1] += item.quantity * item.unit_weight_grams
    if problems:
        raise InvalidInput("incomplete customs data", problems)
    lines = tuple(
        DeclarationLine(description, hs, quantity, quantity * value, weight, origin)
        for (description, hs, origin, value), (quantity, weight) in merged.items()
    )
    return Declaration(origin_country, destination_country, Incoterm(incoterm), currency, lines, shipping)


def _item_problems(i: int, item: DeclarableItem) -> list[Problem]:
    checks = [
        ("description", bool(item.description and item.description.strip()), "a description is required"),
        ("hs_code", bool(HS_CODE.match(item.hs_code or "")), "an HS code has 6, 8 or 10 digits"),
        ("quantity", item.quantity >= 1, "quantity must be at least 1"),
        ("unit_value", item.unit_value >= 0, "value cannot be negative"),
        ("unit_weight_grams", item.unit_weight_grams >= 1, "weight must be at least 1 g"),
        ("origin_country", item.origin_country in ISO_3166, "origin must be an ISO 3166-1 alpha-2 code"),
    ]
    return [Problem(("items", i, field), msg) for field, ok, msg in checks if not ok]
