"""Shipping lanes: from a production region to a destination country, with a daily cutoff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meshfab.domain.geo import Country, Slug
from meshfab.domain.money import Currency


class Lane(BaseModel):
    """One carrier service. A parcel handed over after `cutoff` (factory local time) leaves the next day.

    The promise uses `transit_hours_p95`, not the mean: a date the platform is 95 % sure to meet. What the
    carrier states can be too hopeful (customs clearance, holds), so `learned_extra_hours` is what the parcels'
    own record adds on top (see `services.lane_learning`); it is learnt, never configured.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    origin_region: Slug
    destination_country: Country
    carrier: str = Field(min_length=1, max_length=100)
    service: str = Field(min_length=1, max_length=100)
    transit_hours_p50: int = Field(gt=0, le=24 * 60)
    transit_hours_p95: int = Field(gt=0, le=24 * 60)
    cutoff: time
    currency: Currency
    cost_per_parcel: int = Field(ge=0)
    cost_per_kg: int = Field(ge=0)
    customs_days: int = Field(default=0, ge=0, le=60)
    learned_extra_hours: int = Field(
        default=0, ge=0, le=24 * 60, description="learnt from the parcels' record; ignored when a lane is configured"
    )

    @model_validator(mode="after")
    def _p95_not_below_p50(self) -> Lane:
        if self.transit_hours_p95 < self.transit_hours_p50:
            raise ValueError("transit_hours_p95 must be at least transit_hours_p50")
        return self

    @property
    def allowance_hours(self) -> int:
        """Hand-over to delivery as every promise counts it: p95 transit, customs days, and what was learnt."""
        return self.transit_hours_p95 + 24 * self.customs_days + self.learned_extra_hours

    @property
    def cross_border_hint(self) -> bool:
        return self.customs_days > 0


Rate = TypeVar("Rate")


def tariff(per_parcel: Rate, per_kg: Rate, parcel_grams: Iterable[int]) -> Rate:
    """What a carrier bills for parcels of these weights: per parcel, plus per started 100 g rounded up to the
    minor unit for each parcel (carriers bill started units).

    The rates may be plain numbers or arrays of every lane's rates: the promise engine prices all lanes at once,
    and by this very rule, so the shipping price a buyer is quoted is what the carrier bills for the parcel."""
    total = per_parcel * 0
    for grams in parcel_grams:
        hectograms = -(-grams // 100)
        total = total + per_parcel + -(-(per_kg * hectograms) // 10)
    return total
