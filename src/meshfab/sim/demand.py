"""Buyers arriving: a non-homogeneous Poisson process drawn once per seed, the same for every policy.

The rate for each hour is the base rate times the weekday factor, the trend (seasonality), the peaks that
cover the day (Christmas, an event spike) and a day-night rhythm; a peak may also shift the template mix.
Drawing the whole stream up front is what lets `--compare` show policies facing exactly the same buyers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from meshfab.sim.scenario import Scenario

DIURNAL = [
    0.3,
    0.2,
    0.2,
    0.2,
    0.3,
    0.5,
    0.8,
    1.0,
    1.2,
    1.3,
    1.4,
    1.4,
    1.3,
    1.3,
    1.4,
    1.4,
    1.3,
    1.3,
    1.4,
    1.5,
    1.5,
    1.3,
    0.9,
    0.5,
]  # UTC hours: buyers on three continents overlap, nights still quieter
_DIURNAL_MEAN = sum(DIURNAL) / 24


@dataclass(frozen=True)
class Arrival:
    at: datetime
    number: int
    country: str
    template: str
    options: dict[str, Any]
    quantity: int
    wants_fastest: bool
    must_arrive_by: date
    """the latest delivery date this buyer accepts (patience, or a gift deadline)"""


def _pick(rng: np.random.Generator, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def day_rate(scenario: Scenario, day: date) -> tuple[float, dict[str, float]]:
    """Expected buyers on `day` and the template weights that day (peaks multiply both)."""
    d = scenario.demand
    offset = (day - scenario.start.date()).days
    rate = d.orders_per_day * d.weekday_factors[day.weekday()] * math.exp(d.trend_per_day * offset)
    mix = {key: t.weight for key, t in d.templates.items()}
    for peak in d.peaks:
        if peak.start <= day <= peak.end:
            rate *= peak.factor
            for key, factor in peak.templates.items():
                if key in mix:
                    mix[key] *= factor
    total_before = sum(t.weight for t in d.templates.values())
    boost = sum(mix.values()) / total_before  # a template peak also brings extra buyers, not only a new mix
    return rate * boost, mix


def arrivals(scenario: Scenario, seed: int | None = None) -> list[Arrival]:
    """Every buyer of the scenario, warm-up included, in time order; deterministic for the seed."""
    rng = np.random.default_rng(scenario.seed if seed is None else seed)
    out: list[Arrival] = []
    b = scenario.buyers
    for day_no in range(-scenario.warmup_days, scenario.days):
        start = scenario.start + timedelta(days=day_no)
        rate, mix = day_rate(scenario, start.date())
        for hour in range(24):
            lam = rate / 24 * DIURNAL[(start + timedelta(hours=hour)).hour] / _DIURNAL_MEAN
            for _ in range(int(rng.poisson(lam))):
                at = start + timedelta(hours=hour, seconds=float(rng.uniform(0, 3600)))
                template = _pick(rng, mix)
                t = scenario.demand.templates[template]
                variant = t.variants[int(rng.choice(len(t.variants), p=_norm([v.weight for v in t.variants])))]
                patience = int(rng.integers(b.patience_days[0], b.patience_days[1] + 1))
                latest = (at + timedelta(days=patience)).date()
                if template in b.deadlines:
                    latest = min(latest, b.deadlines[template])
                out.append(
                    Arrival(
                        at=at.replace(microsecond=0),
                        number=0,
                        country=_pick(rng, scenario.demand.countries),
                        template=template,
                        options=dict(variant.options),
                        quantity=int(_pick(rng, t.quantities)),
                        wants_fastest=bool(rng.random() < b.prefer_fastest),
                        must_arrive_by=latest,
                    )
                )
    out.sort(key=lambda a: a.at)
    return [Arrival(**{**a.__dict__, "number": i + 1}) for i, a in enumerate(out)]


def _norm(weights: list[float]) -> np.ndarray:
    p = np.array(weights, dtype=float)
    return p / p.sum()
