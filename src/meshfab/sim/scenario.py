"""What a simulation runs: demand, shop-floor and carrier behaviour, planning cadence and baseline settings.

The scenario is a YAML file validated by pydantic; every problem is reported with the file and line it comes
from (the same `YamlDocument.located` the world loader uses), so a typo never silently becomes a default.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from meshfab.domain.errors import InvalidInput, Problem
from meshfab.yamlsource import read_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Peak(_Strict):
    """A period of extra demand (Christmas, a sports final): overall `factor`, and per-template factors."""

    name: str
    start: date
    end: date
    factor: float = Field(default=1.0, gt=0)
    templates: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Peak:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class Variant(_Strict):
    weight: float = Field(default=1.0, gt=0)
    options: dict[str, Any]


class TemplateDemand(_Strict):
    weight: float = Field(gt=0)
    quantities: dict[int, float] = Field(min_length=1, description="quantity -> weight")
    variants: list[Variant] = Field(min_length=1)

    @field_validator("quantities")
    @classmethod
    def _positive(cls, value: dict[int, float]) -> dict[int, float]:
        if any(q < 1 or w <= 0 for q, w in value.items()):
            raise ValueError("quantities are >= 1 and weights > 0")
        return value


class Demand(_Strict):
    orders_per_day: float = Field(gt=0)
    weekday_factors: list[float] = Field(default=[1.0] * 7, min_length=7, max_length=7)
    trend_per_day: float = Field(default=0.0, ge=-0.05, le=0.05, description="seasonality: growth per day")
    peaks: list[Peak] = Field(default_factory=list)
    countries: dict[str, float] = Field(min_length=1)
    templates: dict[str, TemplateDemand] = Field(min_length=1)


class Buyers(_Strict):
    """Which offer a buyer takes and when they walk away instead."""

    prefer_fastest: float = Field(default=0.5, ge=0, le=1)
    patience_days: tuple[int, int] = (10, 30)
    deadlines: dict[str, date] = Field(default_factory=dict, description="template -> must arrive by (gifts)")


class Outage(_Strict):
    factory: str
    start: datetime
    days: float = Field(gt=0)


class Floor(_Strict):
    duration_cv: float = Field(default=0.2, ge=0, le=2, description="spread of real vs planned durations")
    breakdowns_per_week: float = Field(default=0.5, ge=0)
    repair_hours: tuple[float, float] = (2.0, 10.0)
    scrap_probability: float = Field(default=0.03, ge=0, le=1, description="chance a lot scraps some units")
    scrap_fraction: tuple[float, float] = (0.05, 0.2)
    outages: list[Outage] = Field(default_factory=list)


class Carriers(_Strict):
    hold_probability: float = Field(default=0.08, ge=0, le=1)
    late_scan_probability: float = Field(default=0.1, ge=0, le=1)
    poll_hours: float = Field(default=4.0, gt=0)


class Planning(_Strict):
    replan_every_hours: float = Field(default=6.0, gt=0)
    replan_seconds: float = Field(default=1.5, gt=0, le=60)
    schedule_every_hours: float = Field(default=8.0, gt=0)
    schedule_seconds: float = Field(default=0.5, gt=0, le=60)
    schedule_seconds_per_operation: float = Field(
        default=0.003,
        ge=0,
        le=60,
        description="a factory's solve gets this much per operation (at least 0.1 s), schedule_seconds at most; 0: all",
    )
    schedule_search_backoff: int = Field(
        default=4,
        ge=0,
        le=64,
        description="after a CP-SAT search that did not beat its start, skip up to this many of the factory's "
        "next searches (1, 2, 4 ... after misses in a row); 0: always search",
    )
    schedule_release_days: float | None = Field(
        default=4.0,
        gt=0,
        le=60,
        description="a factory's schedule takes the work due within this many days, and more while a workcenter "
        "has room in them; null: every open line",
    )
    handover_margin_minutes: int = Field(
        default=0,
        ge=0,
        lt=1440,
        description="promises: a line ships at a cutoff only if planned ready this long before it",
    )


class Baselines(_Strict):
    lead_days: dict[str, int] = Field(default_factory=dict, description="fixed-lead-time: days per template")
    default_lead_days: int = Field(default=14, ge=1)


class Scenario(_Strict):
    name: str
    world: str = Field(default=".", description="folder of the world's YAML, relative to the scenario file")
    start: datetime
    days: int = Field(default=30, ge=1, le=366)
    drain_days: int = Field(default=14, ge=0, le=60, description="days without new demand to finish the work")
    warmup_days: int = Field(
        default=0, ge=0, le=60, description="days of demand before `start` that are run but not measured"
    )
    """A platform is measured in service, not on its first morning: the warm-up loads the factories and gives
    the lanes a record to learn from, and only buyers arriving from `start` on count in the KPIs."""
    seed: int = 7
    demand: Demand
    buyers: Buyers = Buyers()
    floor: Floor = Floor()
    carriers: Carriers = Carriers()
    planning: Planning = Planning()
    baselines: Baselines = Baselines()

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @property
    def run_start(self) -> datetime:
        """When the simulated clock starts: `start` less the warm-up."""
        return self.start - timedelta(days=self.warmup_days)

    def world_dir(self, scenario_path: Path) -> Path:
        return (scenario_path.parent / self.world).resolve()


def load_scenario(path: Path, **overrides: Any) -> Scenario:
    """Read and validate a scenario; `InvalidInput` names the file and line of every problem."""
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InvalidInput(f"{path.name}: a scenario is a mapping", [Problem((path.name,), "expected a mapping")])
    try:
        scenario = Scenario.model_validate(doc.data)
    except ValidationError as exc:
        problems = doc.located(exc)
        raise InvalidInput(f"{path.name}: the scenario is not valid ({problems[0].msg})", problems) from None
    if overrides:
        scenario = scenario.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    return scenario
