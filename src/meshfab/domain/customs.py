"""The customs rules table: per destination, what duties and import taxes a parcel owes.

The table is data an operator keeps current (format: ``docs/customs.md``; the demo's: ``examples/yiwu/customs.yaml``).
It is dated (``valid_from``) and says where its figures come from (``source``): duties change by decree, and
an estimate nobody can date is worse than none. Rates are exact decimals (``"0.19"``), thresholds are in major
units of the destination's ``threshold_currency``; ``exchange_rates`` turn them into the declaration's currency.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from meshfab.domain.errors import InvalidInput, NotFound, Problem
from meshfab.domain.geo import Country
from meshfab.domain.money import Currency

Rate = Annotated[Decimal, Field(ge=0, le=2, description="a fraction: 0.19 is 19 %")]
Amount = Annotated[Decimal, Field(ge=0, description="major units of the threshold currency")]
Chapter = Annotated[str, Field(pattern=r"^\d{2}$")]

MINOR_UNITS: dict[str, int] = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
    "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip
"""ISO 4217 minor-unit exponents that are not 2 (the currencies a shop is likely to price in)."""


def minor_exponent(currency: str) -> int:
    return MINOR_UNITS.get(currency, 2)


class Part(StrEnum):
    """What a duty or tax is computed on: the goods' value, the international shipping, the duty itself."""

    goods = "goods"
    shipping = "shipping"
    duty = "duty"


class UnknownDestination(NotFound):
    kind = "unknown-destination"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeMinimis(_Model):
    """Goods value at or below which no duty (``duty``) or no import tax (``tax``) is charged at the border."""

    duty: Amount = Decimal(0)
    tax: Amount = Decimal(0)


class Tier(_Model):
    """A simplified flat-rate regime for low-value parcels (Brazil's Remessa Conforme, Mexico's courier rate).

    The first tier whose ``up_to`` (goods value, inclusive) covers the parcel replaces chapter duties:
    duty = ``rate`` × duty base − ``deduction``, never below zero. ``includes_tax`` means the flat rate
    also covers the import tax.
    """

    up_to: Amount
    rate: Rate
    deduction: Amount = Decimal(0)
    includes_tax: bool = False


class Destination(_Model):
    name: str = Field(min_length=1, max_length=100)
    union: str | None = Field(default=None, description="customs union: no customs between its members")
    threshold_currency: Currency
    de_minimis: DeMinimis = DeMinimis()
    de_minimis_by_origin: dict[Country, DeMinimis] = {}
    duty_base: list[Part] = Field(default=[Part.goods], min_length=1)
    duty_rates: dict[Chapter, Rate] = {}
    default_duty_rate: Rate
    preferential_origins: list[Country] = Field(default=[], description="free-trade origins: no chapter duty")
    origin_surcharges: dict[Country, Rate] = Field(default={}, description="extra ad valorem duty by origin")
    flat_duty_per_line: Amount | None = Field(default=None, description="duty per distinct HS code below de minimis")
    tiers: list[Tier] = []
    tax_name: str = Field(default="VAT", min_length=1, max_length=40)
    tax_rate: Rate
    tax_base: list[Part] = Field(default=[Part.goods, Part.duty], min_length=1)
    tax_inclusive: bool = Field(default=False, description="tax computed 'por dentro': base × r / (1 − r)")
    collected_at_sale_up_to: Amount | None = Field(default=None, description="tax collected by the seller at sale")
    notes: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> Destination:
        if Part.duty in self.duty_base:
            raise ValueError("duty_base cannot contain 'duty'")
        if self.tax_inclusive and self.tax_rate >= 1:
            raise ValueError("an inclusive tax rate must be below 1")
        if any(a.up_to >= b.up_to for a, b in zip(self.tiers, self.tiers[1:], strict=False)):
            raise ValueError("tiers must be in increasing order of up_to")
        return self

    def de_minimis_for(self, origin: str) -> DeMinimis:
        return self.de_minimis_by_origin.get(origin, self.de_minimis)

    def duty_rate(self, hs_code: str) -> Rate:
        return self.duty_rates.get(hs_code[:2], self.default_duty_rate)


class CustomsRules(_Model):
    valid_from: date
    source: str = Field(min_length=1)
    base_currency: Currency
    exchange_rates: dict[Currency, Annotated[Decimal, Field(gt=0)]] = Field(
        description="value of one unit of each currency in the base currency"
    )
    destinations: dict[Country, Destination] = Field(min_length=1)

    @model_validator(mode="after")
    def _rates_known(self) -> CustomsRules:
        missing = sorted(
            {d.threshold_currency for d in self.destinations.values()} - set(self.exchange_rates) - {self.base_currency}
        )
        if missing:
            raise ValueError(f"exchange_rates lacks {missing}")
        return self

    def destination(self, country: str) -> Destination:
        found = self.destinations.get(country)
        if found is None:
            raise UnknownDestination(f"the customs rules have no entry for {country!r}")
        return found

    def rate(self, currency: str) -> Decimal:
        if currency == self.base_currency:
            return Decimal(1)
        found = self.exchange_rates.get(currency)
        if found is None:
            raise UnknownDestination(f"the customs rules have no exchange rate for {currency}")
        return found

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal:
        """Major units of ``source`` as major units of ``target``, through the base currency (no rounding)."""
        return amount * self.rate(source) / self.rate(target)

    def crosses_border(self, origin: str, destination: str) -> bool:
        """False inside one country or one customs union (a Polish factory shipping to Germany)."""
        if origin == destination:
            return False
        a, b = self.destinations.get(origin), self.destinations.get(destination)
        return not (a and b and a.union and a.union == b.union)


def load_rules(doc: Any) -> CustomsRules:
    """Validate a rules document; every problem is reported at once (``InvalidInput``)."""
    try:
        return CustomsRules.model_validate(doc)
    except ValidationError as error:
        problems = [Problem(tuple(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        raise InvalidInput("invalid customs rules", problems) from None
