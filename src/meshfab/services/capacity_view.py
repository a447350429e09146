"""The promise engine's in-memory view of capacity, rebuilt from the database when stale.

A quote must answer in milliseconds, so it reads a `CapacitySnapshot` held in memory rather than the
database. The view may lag other processes by up to `ttl` seconds; that is safe, because placing an order
re-checks the plan against locked bucket rows. Writes made in this process update or drop the view at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime

from sqlalchemy.orm import Session

from meshfab.domain.factories import Factory
from meshfab.engines.promise import CapacitySnapshot, Offer
from meshfab.store.capacity import load_buckets
from meshfab.store.repositories import FactoryRepository, LaneRepository


class CapacityView:
    def __init__(self, *, ttl: float = 2.0, days: int = 60) -> None:
        self.ttl = ttl
        self.days = days
        self._lock = threading.Lock()
        self._snapshot: CapacitySnapshot | None = None
        self._built = 0.0
        self._built_for: datetime | None = None
        self._day_turns = datetime.min.replace(tzinfo=UTC)
        """the first factory midnight after the build: until then the snapshot's days are the ones a rebuild would
        lay out, so only time (`ttl`) or a write this process does not mirror makes it stale"""

    def get(self, session: Session, now: datetime) -> CapacitySnapshot | None:
        """The current snapshot, or None when the mesh has no factory at all."""
        with self._lock:
            stale = (
                self._snapshot is None
                or time.monotonic() - self._built > self.ttl
                or self._built_for is None
                or now < self._built_for
                or now >= self._day_turns
            )
            if stale:
                self._snapshot = build_snapshot(session, now, self.days)
                self._built, self._built_for = time.monotonic(), now
                self._day_turns = _next_local_midnight(self._snapshot.factories, now) if self._snapshot else now
            return self._snapshot

    def applied(self, offer: Offer) -> None:
        with self._lock:
            if self._snapshot is not None:
                self._snapshot.apply(offer)

    def invalidate(self) -> None:
        with self._lock:
            self._snapshot = None


def _next_local_midnight(factories: Iterable[Factory], now: datetime) -> datetime:
    """The first instant after ``now`` at which some factory's local day turns. A snapshot lays its day columns out
    from the factories' local todays (the earliest and the latest), so it holds at least until then; rebuilding
    every hour, as the view did, read every bucket again for the same layout."""
    return min(datetime.combine(f.local_day(now) + timedelta(days=1), dtime(0), tzinfo=f.tz) for f in factories)


def build_snapshot(
    session: Session,
    now: datetime,
    days: int,
    *,
    factory_ids: set[str] | None = None,
    lane_ids: set[str] | None = None,
) -> CapacitySnapshot | None:
    factories = FactoryRepository(session).list()
    if factory_ids is not None:
        factories = [f for f in factories if f.id in factory_ids]
    if not factories:
        return None
    lanes = LaneRepository(session).list()
    if lane_ids is not None:
        lanes = [lane for lane in lanes if lane.id in lane_ids]
    first_day = min(f.local_day(now) for f in factories)
    buckets, families = load_buckets(session, first_day)
    known = {f.id for f in factories}
    last_day = first_day + timedelta(days=days)
    return CapacitySnapshot(
        factories,
        lanes,
        now=now,
        days=days,
        buckets=[b for b in buckets if b.factory_id in known and b.day < last_day],
        families=[x for x in families if x[0] in known and x[2] < last_day],
    ).prepare()
