"""Factories of the mesh: where they are, what they can do, when they work and what a minute costs.

A factory's calendar lives in its own time zone: a shift "08:00–17:00" in Yiwu is Asia/Shanghai time,
and a "day" of capacity is the factory's local calendar day, not a UTC day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meshfab.domain.geo import Country, Slug, TimeZone
from meshfab.domain.money import Currency

Capability = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class FactoryStatus(StrEnum):
    """`paused` and `dark` factories receive nothing new; `dark` also means its promises are at risk."""

    active = "active"
    paused = "paused"
    dark = "dark"


class Workcenter(BaseModel):
    """A group of identical machines (or benches) for one capability."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capability: Capability
    count: int = Field(ge=1, le=1000)
    efficiency: float = Field(default=1.0, gt=0, le=2.0)
    promise_share: float = Field(
        default=1.0,
        gt=0,
        le=1.0,
        description="share of the machine time that may be promised at checkout; the rest absorbs changeovers, "
        "breakdowns and slow runs, so that promises made at a full bucket are still kept on the floor",
    )


class Shift(BaseModel):
    """Working hours on some weekdays (0 = Monday), local time; a shift does not cross midnight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekdays: list[int] = Field(min_length=1)
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Shift:
        if self.end <= self.start:
            raise ValueError("shift end must be after its start (shifts do not cross midnight)")
        if any(not 0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return self

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


class Calendar(BaseModel):
    """Shifts and holidays of one factory, read in the factory's time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shifts: list[Shift] = Field(min_length=1)
    holidays: list[date] = Field(default_factory=list)

    def is_working_day(self, day: date) -> bool:
        return day not in self.holidays and any(day.weekday() in s.weekdays for s in self.shifts)

    def shifts_on(self, day: date) -> list[Shift]:
        if day in self.holidays:
            return []
        return sorted((s for s in self.shifts if day.weekday() in s.weekdays), key=lambda s: s.start)

    def minutes_on(self, day: date) -> int:
        return sum(s.minutes for s in self.shifts_on(day))


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    region: Slug
    country: Country
    timezone: TimeZone


class Factory(BaseModel):
    """A producer in the mesh. Its identity is hidden from merchants; they only ever see its region."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Slug
    name: str = Field(min_length=1, max_length=200)
    location: Location
    workcenters: list[Workcenter] = Field(min_length=1)
    calendar: Calendar
    currency: Currency
    cost_per_minute: dict[Capability, int] = Field(description="minor units per machine minute")
    min_lot: int = Field(default=1, ge=1)
    max_lot: int = Field(default=500, ge=1)
    status: FactoryStatus = FactoryStatus.active
    trust_score: float = Field(default=0.8, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _consistent(self) -> Factory:
        caps = [w.capability for w in self.workcenters]
        if len(set(caps)) != len(caps):
            raise ValueError("each capability appears in one workcenter only (use count for several machines)")
        missing = sorted(set(caps) - set(self.cost_per_minute))
        if missing:
            raise ValueError(f"cost_per_minute lacks capabilities {missing}")
        if self.max_lot < self.min_lot:
            raise ValueError("max_lot must be at least min_lot")
        return self

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(w.capability for w in self.workcenters)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.location.timezone)

    @property
    def accepts_work(self) -> bool:
        return self.status is FactoryStatus.active

    def workcenter(self, capability: str) -> Workcenter | None:
        return next((w for w in self.workcenters if w.capability == capability), None)

    def capacity_minutes(self, capability: str, day: date) -> int:
        """Machine minutes of one capability on one local day that may be promised: shift minutes × machines ×
        efficiency × promise share (the schedule itself uses the whole time)."""
        wc = self.workcenter(capability)
        if wc is None:
            return 0
        return int(self.calendar.minutes_on(day) * wc.count * wc.efficiency * wc.promise_share)

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def at_local(self, day: date, clock: time) -> datetime:
        """A local wall-clock time on a local day, as an aware UTC instant."""
        return datetime.combine(day, clock, tzinfo=self.tz).astimezone(UTC)

    def working_windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's shifts as UTC intervals, for schedulers that work in absolute time."""
        return [(self.at_local(day, s.start), self.at_local(day, s.end)) for s in self.calendar.shifts_on(day)]

    def days(self, first: date, count: int) -> list[date]:
        return [first + timedelta(days=i) for i in range(count)]
