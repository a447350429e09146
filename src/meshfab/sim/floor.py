"""The shop floor: factories work the operations their schedule released, with real-world noise.

Each released work order starts at its first operation's scheduled time (or when the factory is back up) and
its operations take a gamma-distributed time whose mean is the planned one. Breakdowns (per factory, drawn
once per seed) and outages stop the clock of work in progress. A lot may scrap some units; the platform then
creates replacement work itself. Starts, scrap and finishes are reported through `report_progress`, exactly
as a factory's portal would, so promises, parcels and schedules react as they do in production.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Generator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import simpy
from sqlalchemy import DateTime, bindparam, column, func, select
from sqlalchemy.dialects.postgresql import JSONB

from meshfab.domain.errors import DomainError
from meshfab.domain.work import Progress, WorkOrderStatus
from meshfab.services.platform import Platform
from meshfab.services.scheduling import report_progress
from meshfab.sim.clock import SimClock
from meshfab.sim.policies import OPERATOR
from meshfab.sim.scenario import Floor
from meshfab.store.tables import WorkOrderRow

Interval = tuple[float, float]


class ShopFloor:
    """Every factory of the mesh at once: one dispatcher, one SimPy process per lot in progress."""

    def __init__(
        self,
        env: simpy.Environment,
        platform: Platform,
        clock: SimClock,
        floor: Floor,
        factory_ids: list[str],
        horizon_minutes: float,
        seed: int,
        on_parcels: Callable[[list[str]], None],
    ) -> None:
        self.env, self.platform, self.clock, self.floor = env, platform, clock, floor
        self.on_parcels = on_parcels
        self.rng = random.Random(f"floor:{seed}")
        self.down: dict[str, list[Interval]] = {f: self._breakdowns(f, seed, horizon_minutes) for f in factory_ids}
        self.busy: dict[tuple[str, str], float] = defaultdict(float)  # (factory, UTC day) -> machine minutes
        self.in_progress: set[UUID] = set()
        self.lots = self.units = self.scrapped = 0

    def _breakdowns(self, factory_id: str, seed: int, horizon: float) -> list[Interval]:
        rng = random.Random(f"breakdowns:{seed}:{factory_id}")
        rate = self.floor.breakdowns_per_week / (7 * 24 * 60)
        out, t = [], 0.0
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= horizon:
                break
            out.append((t, t + rng.uniform(*self.floor.repair_hours) * 60))
        return out

    def outage(self, factory_id: str, start: float, end: float) -> None:
        self.down[factory_id] = sorted([*self.down[factory_id], (start, end)])

    def is_down(self, factory_id: str, t: float) -> float | None:
        """When the factory is down at `t`, the time it is back up."""
        return next((e for s, e in self.down[factory_id] if s <= t < e), None)

    def work_until(self, factory_id: str, start: float, minutes: float) -> float:
        """The end of `minutes` of work begun at `start`, with the clock stopped while the factory is down."""
        t, left = start, minutes
        for s, e in self.down[factory_id]:
            if e <= t:
                continue
            if s >= t + left:
                break
            left -= max(0.0, s - t)
            t = max(t, e)
        return t + left

    def dispatch(self, every_minutes: float = 30.0) -> Generator[simpy.Event, Any, None]:
        """Start every released lot whose first operation is due, unless its factory is down."""
        while True:
            now = self.env.now
            with self.platform.uow() as uow:
                due = uow.session.execute(_DUE, {"now": self.clock.now()}).all()
            for wo_id, factory_id, quantity, operations in due:
                if wo_id in self.in_progress or self.is_down(factory_id, now) is not None:
                    continue
                self.in_progress.add(wo_id)
                self.env.process(self._work(wo_id, factory_id, quantity, operations))
            yield self.env.timeout(every_minutes)

    def _work(
        self, wo_id: UUID, factory_id: str, quantity: int, operations: list[dict[str, Any]]
    ) -> Generator[simpy.Event, Any, None]:
        try:
            report_progress(self.platform, OPERATOR, wo_id, Progress.start)
        except DomainError:
            self.in_progress.discard(wo_id)  # rescheduled away meanwhile
            return
        t = self.env.now
        cv = self.floor.duration_cv
        for op in sorted(operations, key=lambda o: o["start"]):
            planned = max(1.0, float(op["end"] - op["start"]))
            actual = self.rng.gammavariate(1 / cv**2, planned * cv**2) if cv > 0 else planned
            begin = max(t, self.clock.minutes(datetime.fromisoformat(op["at"])))
            t = self.work_until(factory_id, begin, actual)
            day = (self.clock.start + timedelta(minutes=begin)).date().isoformat()
            self.busy[(factory_id, day)] += actual
        yield self.env.timeout(max(0.0, t - self.env.now))
        try:
            if self.rng.random() < self.floor.scrap_probability:
                lost = max(1, round(quantity * self.rng.uniform(*self.floor.scrap_fraction)))
                report_progress(self.platform, OPERATOR, wo_id, Progress.scrap, min(lost, quantity))
                self.scrapped += min(lost, quantity)
            answer = report_progress(self.platform, OPERATOR, wo_id, Progress.finish)
        finally:
            self.in_progress.discard(wo_id)
        self.lots += 1
        self.units += quantity
        self.on_parcels(answer.get("parcels", []))


_OPERATION = func.jsonb_array_elements(WorkOrderRow.operations).table_valued(column("value", JSONB))
_FIRST_AT = select(func.min(_OPERATION.c.value["at"].astext.cast(DateTime(timezone=True)))).scalar_subquery()
_DUE = (
    select(WorkOrderRow.id, WorkOrderRow.factory_id, WorkOrderRow.quantity, WorkOrderRow.operations)
    .where(WorkOrderRow.status == WorkOrderStatus.released.value, bindparam("now") >= _FIRST_AT)
    .order_by(WorkOrderRow.factory_id, WorkOrderRow.id)
)
"""Released lots whose first operation is due: the floor asks every half hour, and most released lots (and their
operations, the bulk of each row) are not due yet, so the database picks the due ones."""
