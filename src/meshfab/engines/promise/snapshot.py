"""The capacity snapshot: every bucket of the mesh as numpy arrays, kept in memory between quotes.

Built once from factories, lanes and the stored buckets (reservations, and which setup families already have a
lot in a bucket); the service keeps it fresh with :meth:`CapacitySnapshot.reserve` / :meth:`apply` /
:meth:`release` after each commit and rebuilds it now and then. Arrays are factory × day per capability, so a
quote is a handful of vectorised passes, never a Python loop over buckets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from meshfab.domain.capacity import Bucket
from meshfab.domain.factories import Factory
from meshfab.domain.lanes import Lane

from .problem import Offer
from .timegrid import EPOCH, DateTable, destination_zone, local_to_minutes, shift_arrays

SHIP_DAYS_BEYOND = 14
"""Calendar days kept after the last bucket day, so work finished on the last day can still find a cutoff."""
TRANSIT_DAYS_MAX = 75
"""Dates are tabulated this far after the last ship day (p95 transit + customs)."""


@dataclass(frozen=True)
class CountryLanes:
    """Every (factory, lane) pair that can ship to one country, with the lane's cutoffs as instants."""

    factory: np.ndarray  # pair → factory index
    lane: np.ndarray  # pair → lane index in CapacitySnapshot.lanes
    cutoff: np.ndarray  # pair × calendar day → epoch minutes of that day's cutoff, factory local time
    dates: DateTable


class CapacitySnapshot:
    def __init__(
        self,
        factories: Iterable[Factory],
        lanes: Iterable[Lane],
        *,
        now: datetime,
        days: int = 60,
        buckets: Iterable[Bucket] = (),
        families: Iterable[tuple[str, str, date, str]] = (),
    ) -> None:
        """``days`` local days per factory from its own today at ``now``; ``buckets`` give reservations and may
        lower or raise the calendar's available minutes (a machine down); ``families`` are
        (factory_id, capability, day, setup_family) lots already in a bucket."""
        self.factories = sorted(factories, key=lambda f: f.id)
        self.lanes = sorted(lanes, key=lambda lane: lane.id)
        if not self.factories:
            raise ValueError("a snapshot needs at least one factory")
        self.index = {f.id: i for i, f in enumerate(self.factories)}
        self.origin = min(f.local_day(now) for f in self.factories)
        self.days = days + (max(f.local_day(now) for f in self.factories) - self.origin).days
        self.calendar_days = self.days + SHIP_DAYS_BEYOND
        n = len(self.factories)
        self.starts, self.ends = shift_arrays(self.factories, self.origin, self.calendar_days)
        self.calendar_minutes = (self.ends - self.starts).sum(axis=2)
        working = self.calendar_minutes > 0
        self.next_working = _next_true(working)
        self.accepts = np.array([f.accepts_work for f in self.factories])
        self.max_lot = np.array([f.max_lot for f in self.factories], dtype=np.float64)
        self.available: dict[str, np.ndarray] = {}
        self.reserved: dict[str, np.ndarray] = {}
        self.cost: dict[str, np.ndarray] = {}
        self.machine_rate: dict[str, np.ndarray] = {}
        """Per capability and factory: (machines, bucket minutes one machine makes per shift minute)."""
        for i, factory in enumerate(self.factories):
            for wc in factory.workcenters:
                cap = wc.capability
                if cap not in self.available:
                    self.available[cap] = np.zeros((n, self.days), dtype=np.int64)
                    self.reserved[cap] = np.zeros((n, self.days), dtype=np.int64)
                    self.cost[cap] = np.zeros(n, dtype=np.int64)
                    self.machine_rate[cap] = np.ones((2, n))
                self.machine_rate[cap][:, i] = (wc.count, wc.efficiency)
                # what a bucket row is created with (`Factory.capacity_minutes`, same product, same order): a
                # bucket nobody has stored yet must not offer the share of machine time kept off checkout
                promisable = self.calendar_minutes[i, : self.days] * wc.count * wc.efficiency * wc.promise_share
                self.available[cap][i] = promisable.astype(np.int64)
                self.cost[cap][i] = factory.cost_per_minute[cap]
        self.capable = {cap: _has(self.factories, cap) for cap in self.available}
        self.families: dict[tuple[str, str], np.ndarray] = {}
        for b in buckets:
            i, d = self.locate(b.factory_id, b.capability, b.day)
            self.available[b.capability][i, d] = b.available
            self.reserved[b.capability][i, d] = b.reserved
        for factory_id, capability, day, family in families:
            self.mark_family(factory_id, capability, day, family)
        first_start = np.where(self.ends > self.starts, self.starts, np.inf).min(axis=2)
        self.day_first_start = first_start[:, : self.days].min(axis=0)
        """Per day column, the earliest shift start of any factory: columns starting after ``now`` have no past."""
        zones = sorted({f.location.timezone for f in self.factories})
        self.zones = zones
        self.zone_of = np.array([zones.index(f.location.timezone) for f in self.factories])
        self.lane_allowance_hours = np.array([lane.allowance_hours for lane in self.lanes], dtype=np.int64)
        self.lane_per_parcel = np.array([lane.cost_per_parcel for lane in self.lanes], dtype=np.int64)
        self.lane_per_kg = np.array([lane.cost_per_kg for lane in self.lanes], dtype=np.int64)
        self.lane_currency = np.array([lane.currency for lane in self.lanes])
        self._country: dict[str, CountryLanes | None] = {}
        self.now = now

    # -- lookups -------------------------------------------------------------------------------------------
    def day_index(self, day: date) -> int:
        return (day - self.origin).days

    def day_of(self, index: int) -> date:
        return self.origin + timedelta(days=int(index))

    def locate(self, factory_id: str, capability: str, day: date) -> tuple[int, int]:
        """(factory row, day column) of one bucket in the arrays; ``KeyError`` if the snapshot does not hold it.

        Public so that re-checks and the service address buckets the same way the snapshot itself does.
        """
        i = self.index.get(factory_id)
        d = self.day_index(day)
        if i is None or capability not in self.available or not 0 <= d < self.days:
            raise KeyError(f"no bucket {factory_id}/{capability}/{day} in this snapshot")
        return i, d

    def family_mask(self, capability: str, family: str) -> np.ndarray | None:
        return self.families.get((capability, family))

    def has_family(self, factory_id: str, capability: str, day: date, family: str) -> bool:
        mask = self.families.get((capability, family))
        if mask is None:
            return False
        i, d = self.locate(factory_id, capability, day)
        return bool(mask[i, d])

    def bucket(self, factory_id: str, capability: str, day: date) -> Bucket:
        i, d = self.locate(factory_id, capability, day)
        return Bucket(
            factory_id, capability, day, int(self.available[capability][i, d]), int(self.reserved[capability][i, d])
        )

    def country(self, country: str) -> CountryLanes | None:
        """Pairs shipping to ``country``; computed on first use and kept (``prepare`` does it up front)."""
        if country not in self._country:
            self._country[country] = self._build_country(country)
        return self._country[country]

    def prepare(self) -> CapacitySnapshot:
        """Compute every destination's lane tables now, so the first quote to a country is not the slow one."""
        for country in sorted({lane.destination_country for lane in self.lanes}):
            self.country(country)
        return self

    def _build_country(self, country: str) -> CountryLanes | None:
        by_region: dict[str, list[int]] = {}
        for k, lane in enumerate(self.lanes):
            if lane.destination_country == country:
                by_region.setdefault(lane.origin_region, []).append(k)
        pairs = [(i, k) for i, f in enumerate(self.factories) for k in by_region.get(f.location.region, [])]
        if not pairs:
            return None
        cutoff = np.empty((len(pairs), self.calendar_days))
        days = [self.day_of(d) for d in range(self.calendar_days)]
        rows: dict[tuple[str, time], list[int]] = {}  # pairs in one zone with one cutoff share their row
        for p, (i, k) in enumerate(pairs):
            zone, clock = self.factories[i].location.timezone, self.lanes[k].cutoff
            if (zone, clock) not in rows:
                rows[(zone, clock)] = [local_to_minutes(zone, day, clock) for day in days]
            cutoff[p] = rows[(zone, clock)]
        first = self.day_of(-1)
        table = DateTable(destination_zone(country), _midnight(first), self.calendar_days + TRANSIT_DAYS_MAX)
        return CountryLanes(np.array([i for i, _ in pairs]), np.array([k for _, k in pairs]), cutoff, table)

    # -- incremental updates -------------------------------------------------------------------------------
    def reserve(self, factory_id: str, capability: str, day: date, minutes: int, family: str | None = None) -> None:
        """Mirror a committed reservation. The database is the judge of overselling; this only records it."""
        if minutes < 0:
            raise ValueError("reserve a non-negative number of minutes")
        i, d = self.locate(factory_id, capability, day)
        self.reserved[capability][i, d] += minutes
        if family is not None:
            self.mark_family(factory_id, capability, day, family)

    def release(self, factory_id: str, capability: str, day: date, minutes: int) -> None:
        i, d = self.locate(factory_id, capability, day)
        self.reserved[capability][i, d] = max(0, int(self.reserved[capability][i, d]) - minutes)

    def apply(self, offer: Offer) -> None:
        """Record every reservation of an accepted offer, and its setup families as present in those buckets."""
        for r in offer.reservations:
            self.reserve(r.factory_id, r.capability, r.day, r.minutes, r.setup_family)

    def mark_family(self, factory_id: str, capability: str, day: date, family: str) -> None:
        i, d = self.locate(factory_id, capability, day)
        mask = self.families.get((capability, family))
        if mask is None:
            mask = self.families[(capability, family)] = np.zeros((len(self.factories), self.days), dtype=bool)
        mask[i, d] = True

    def set_status(self, factory_id: str, accepts_work: bool) -> None:
        """A factory paused or gone dark stops receiving offers at once, without a rebuild."""
        self.accepts[self.index[factory_id]] = accepts_work


def _has(factories: list[Factory], capability: str) -> np.ndarray:
    return np.array([f.workcenter(capability) is not None for f in factories])


def _next_true(mask: np.ndarray) -> np.ndarray:
    """Per row, for each column d the first column ≥ d where ``mask`` holds (``mask.shape[1]`` if none)."""
    n, days = mask.shape
    out = np.full((n, days + 1), days, dtype=np.int64)
    at = np.where(mask, np.arange(days), days)
    out[:, :days] = np.minimum.accumulate(at[:, ::-1], axis=1)[:, ::-1]  # the least index at or after each column
    return out


def _midnight(day: date) -> datetime:
    return EPOCH + timedelta(days=(day - date(1970, 1, 1)).days)
