"""Time as numbers: instants are float minutes since the Unix epoch (UTC), days are indices from an origin.

Local wall-clock times are turned into instants once, when a snapshot is built, and cached per
(zone, day, clock) so that 500 factories sharing a handful of zones cost a handful of conversions.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from meshfab.domain.capacity import Bucket
from meshfab.domain.factories import Factory

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

DESTINATION_ZONES: dict[str, str] = {
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/St_Johns",
    "CN": "Asia/Shanghai",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "MX": "America/Cancun",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "US": "America/New_York",
    "ES": "Europe/Madrid",
    "IT": "Europe/Rome",
    "NZ": "Pacific/Auckland",
}
"""The zone whose calendar date runs latest among a country's main zones (its easternmost mainland zone).

A parcel's arrival instant is turned into a date there, so the date is never earlier than the date anywhere
else in the country. Countries not listed use UTC+14, the latest date on Earth: safe, at worst a day late.
"""
FALLBACK_ZONE = "Etc/GMT-14"
GRID_MINUTES = 15
"""Offsets of destination zones are tabulated every 15 minutes: every real DST change falls on that grid."""


def to_minutes(instant: datetime) -> float:
    return (instant - EPOCH).total_seconds() / 60.0


def from_minutes(minutes: float) -> datetime:
    return EPOCH + timedelta(minutes=math.ceil(minutes - 1e-6))


@lru_cache(maxsize=200_000)
@lru_cache(maxsize=200_000)
def local_to_minutes(zone: str, day: date, clock: time) -> int:
    """A local wall-clock time as epoch minutes (a non-existent time in a DST gap moves forward, as zoneinfo)."""
    return int(to_minutes(datetime.combine(day, clock, tzinfo=ZoneInfo(zone)).astimezone(UTC)))


def calendar_buckets(factory: Factory, first_day: date, days: int) -> list[Bucket]:
    """Available machine minutes per capability for ``days`` local days from ``first_day`` (nothing reserved).

    Shift minutes × workcenter count × efficiency × promise share, holidays at zero: exactly
    ``Factory.capacity_minutes``.
    """
    return [
        Bucket(factory.id, wc.capability, day, factory.capacity_minutes(wc.capability, day))
        for day in factory.days(first_day, days)
        for wc in factory.workcenters
    ]


def shift_arrays(factories: list[Factory], origin: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Shift starts and ends (epoch minutes), shape factory × day × shift slot, empty slots of zero length."""
    slots = max(len(f.calendar.shifts) for f in factories)
    starts = np.zeros((len(factories), days, slots))
    ends = np.zeros((len(factories), days, slots))
    for i, factory in enumerate(factories):
        row_starts, row_ends = _factory_shifts(factory, origin, days)
        starts[i, :, : row_starts.shape[1]] = row_starts
        ends[i, :, : row_ends.shape[1]] = row_ends
    return starts, ends


_SHIFTS: dict[tuple[str, str, date, int], tuple[np.ndarray, np.ndarray]] = {}
"""One factory's shift instants by (zone, calendar, origin, days): the re-check of every order builds a snapshot
of its factory, and walking 70-odd days of shifts cost more than the rest of that snapshot."""


def _factory_shifts(factory: Factory, origin: date, days: int) -> tuple[np.ndarray, np.ndarray]:
    zone = factory.location.timezone
    key = (zone, factory.calendar.model_dump_json(), origin, days)
    known = _SHIFTS.get(key)
    if known is not None:
        return known
    slots = len(factory.calendar.shifts)
    starts, ends = np.zeros((days, slots)), np.zeros((days, slots))
    for d in range(days):
        day = origin + timedelta(days=d)
        for k, shift in enumerate(factory.calendar.shifts_on(day)):
            starts[d, k] = local_to_minutes(zone, day, shift.start)
            ends[d, k] = local_to_minutes(zone, day, shift.end)
    starts.setflags(write=False)
    ends.setflags(write=False)
    if len(_SHIFTS) >= 4096:  # origins move on day by day: old ones are not asked for again
        _SHIFTS.clear()
    _SHIFTS[key] = (starts, ends)
    return starts, ends


class DateTable:
    """UTC offsets of one zone on a 15-minute grid, to turn arrival instants into local dates vectorised."""

    def __init__(self, zone: str, first: datetime, days: int) -> None:
        self.start = math.floor(to_minutes(first) / GRID_MINUTES) * GRID_MINUTES
        self.offsets = _offsets(zone, self.start, days)

    def epoch_days(self, minutes: np.ndarray) -> np.ndarray:
        """Local calendar date (days since 1970-01-01) of each instant."""
        k = np.clip(((minutes - self.start) // GRID_MINUTES).astype(np.int64), 0, len(self.offsets) - 1)
        return np.floor((minutes + self.offsets[k]) / 1440.0).astype(np.int64)


@lru_cache(maxsize=512)
def _offsets(zone: str, start: int, days: int) -> np.ndarray:
    """UTC offset per grid step. A zone changes offset at most a few times a year, so each day is filled at
    once unless its two ends differ; only such transition days are walked step by step. Cached: every snapshot
    built the same day asks for the same table."""
    tz = ZoneInfo(zone)
    per_day = 24 * 60 // GRID_MINUTES
    offsets = np.empty(days * per_day, dtype=np.int64)

    def offset_at(step: int) -> int:
        value = (EPOCH + timedelta(minutes=start + step * GRID_MINUTES)).astimezone(tz).utcoffset()
        return int(value.total_seconds() // 60) if value is not None else 0

    for d in range(days):
        first, last = d * per_day, (d + 1) * per_day - 1
        at_first, at_last = offset_at(first), offset_at(last)
        if at_first == at_last:
            offsets[first : last + 1] = at_first
        else:
            offsets[first : last + 1] = [offset_at(k) for k in range(first, last + 1)]
    offsets.setflags(write=False)
    return offsets


def destination_zone(country: str) -> str:
    return DESTINATION_ZONES.get(country, FALLBACK_ZONE)


def epoch_day_to_date(days: int) -> date:
    return date.fromordinal(EPOCH_ORDINAL + int(days))
