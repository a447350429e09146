"""One simulation run per policy: a fresh database, the world loaded, and SimPy processes calling services.

Processes: buyers (the pre-drawn demand), the shop floor dispatcher, the carrier poller, the factory
scheduler and, for policies that re-plan, the network planner, all on the simulated clock at the cadence the
scenario gives (the same loops `serve` runs on the wall clock).
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import simpy
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from meshfab.domain.factories import FactoryStatus
from meshfab.domain.orders import PromiseStatus
from meshfab.services import scheduling
from meshfab.services.factories import set_status
from meshfab.services.lane_learning import learn_lane_transit
from meshfab.services.network import replan_network
from meshfab.services.platform import Platform
from meshfab.services.scheduling import schedule_cycle
from meshfab.services.world import load_world
from meshfab.settings import Settings
from meshfab.sim.carriers import Shipping
from meshfab.sim.clock import SimClock
from meshfab.sim.demand import Arrival
from meshfab.sim.floor import ShopFloor
from meshfab.sim.policies import OPERATOR, make_policy
from meshfab.sim.scenario import Scenario
from meshfab.store import migrate
from meshfab.store.database import make_engine, to_sqlalchemy_url
from meshfab.store.tables import FactoryRow, PromiseRow

DAY = 24 * 60


@dataclass
class Record:
    """What the run saw that the database does not keep: walk-aways, daily counts, floor and carrier totals."""

    policy: str
    orders: list[dict[str, Any]] = field(default_factory=list)
    walk_aways: Counter[str] = field(default_factory=Counter)
    walked_by_day: Counter[str] = field(default_factory=Counter)
    replans: int = 0
    schedules: int = 0
    wall_seconds: float = 0.0
    spent: Counter[str] = field(default_factory=Counter)
    """wall seconds by activity (serve, schedule, replan, ...): where a run's time goes"""
    wall_by_day: dict[str, float] = field(default_factory=dict)
    """wall seconds each simulated UTC day took: a run that slows as history piles up shows it here"""
    floor: ShopFloor | None = None
    shipping: Shipping | None = None


def fresh_database(base_url: str, name: str) -> str:
    """Drop and create `name` on the server of `base_url`, migrate it, and return its URL."""
    url = make_url(to_sqlalchemy_url(base_url))
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    target = url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(target)
    return target


@contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """Ids drawn from the seed: services order by id, so random ids would make runs differ by chance."""
    rng = random.Random(f"ids:{seed}")
    original = uuid.uuid4
    uuid.uuid4 = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # type: ignore[assignment]
    try:
        yield
    finally:
        uuid.uuid4 = original  # type: ignore[assignment]


class Simulation:
    def __init__(self, scenario: Scenario, scenario_path: Path, policy: str, base_url: str, data_dir: Path) -> None:
        self.scenario, self.policy_name = scenario, policy
        self.world = scenario.world_dir(scenario_path)
        self.base_url, self.data_dir = base_url, data_dir
        self.record = Record(policy)
        self.dirty: set[str] = set()

    def run(
        self, demand: list[Arrival], progress: Callable[[int, Record, dict[str, int]], None] | None = None
    ) -> Platform:
        wall = time.perf_counter()
        s = self.scenario
        url = fresh_database(self.base_url, f"meshfab_sim_{self.policy_name.replace('-', '_')}")
        settings = Settings(
            data_dir=self.data_dir,
            database_url=url,
            replan_seconds=s.planning.replan_seconds,
            schedule_seconds=s.planning.schedule_seconds,
            schedule_seconds_per_operation=s.planning.schedule_seconds_per_operation,
            schedule_search_backoff=s.planning.schedule_search_backoff,
            schedule_release_days=s.planning.schedule_release_days,
            handover_margin_minutes=s.planning.handover_margin_minutes,
            capacity_ttl_seconds=math.inf,  # no other process writes: the view follows simulated time alone
            deterministic_solvers=True,  # same seed, same KPIs: no plan may depend on the machine's load
        )
        env = simpy.Environment()
        clock = SimClock(env, s.run_start)
        platform = Platform(engine=make_engine(url, pool_size=4, scratch=True), settings=settings, clock=clock)
        platform.on_new_work = self._told(platform)
        scheduling.forget_schedules()  # they belong to one run: another policy's schedules must not leak in
        with seeded_ids(s.seed):
            load_world(platform, self.world)
            with platform.uow() as uow:
                factory_ids = sorted(uow.session.scalars(select(FactoryRow.id)))
            total = (s.warmup_days + s.days + s.drain_days) * DAY
            policy = make_policy(self.policy_name, platform, s)
            shipping = Shipping(env, platform, clock, s.carriers, s.seed)
            floor = ShopFloor(env, platform, clock, s.floor, factory_ids, total, s.seed, shipping.book)
            self.record.floor, self.record.shipping = floor, shipping
            env.process(self._buyers(env, clock, policy, demand))
            if s.warmup_days:
                env.process(self._measure_from(env, s.warmup_days * DAY))
            env.process(floor.dispatch())
            env.process(shipping.poll())
            env.process(self._scheduler(env, platform))
            if policy.replans:
                env.process(self._planner(env, platform))
            for outage in s.floor.outages:
                env.process(self._outage(env, platform, clock, floor, outage.factory, outage.start, outage.days))
            if progress is not None:
                env.process(self._days(env, platform, progress))
            env.run(until=total + 1)
        self.record.wall_seconds = time.perf_counter() - wall
        return platform

    @contextmanager
    def _timed(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.record.spent[what] += time.perf_counter() - started

    def _buyers(
        self, env: simpy.Environment, clock: SimClock, policy: Any, demand: list[Arrival]
    ) -> Generator[simpy.Event, Any, None]:
        for arrival in demand:
            yield env.timeout(clock.until(arrival.at))
            with self._timed("serve"):
                served = policy.serve(arrival)
            if arrival.at < self.scenario.start:
                continue  # warm-up: served, not measured
            day = arrival.at.date().isoformat()
            if served.order_id is None:
                self.record.walk_aways[served.walked or "unknown"] += 1
                self.record.walked_by_day[day] += 1
                continue
            self.record.orders.append(
                {
                    "id": served.order_id,
                    "day": day,
                    "template": arrival.template,
                    "units": arrival.quantity,
                    "fastest": arrival.wants_fastest,
                    "buyer": arrival.number,
                }
            )

    def _told(self, platform: Platform) -> Callable[[str, bool], None]:
        """The twin's end of `Platform.on_new_work`: the factory joins the next scheduling cycle, or is scheduled
        at this very instant when the floor waits for it (as `meshfab serve`'s scheduler wakes at once)."""

        def told(factory_id: str, at_once: bool) -> None:
            if at_once:
                scheduling.schedule_factory(platform, factory_id)
            else:
                self.dirty.add(factory_id)

        return told

    def _measure_from(self, env: simpy.Environment, at: float) -> Generator[simpy.Event, Any, None]:
        """At the end of the warm-up the run's own counters start again from zero."""
        yield env.timeout(at)
        if self.record.floor is not None:
            self.record.floor.lots = self.record.floor.units = self.record.floor.scrapped = 0
        if self.record.shipping is not None:
            self.record.shipping.holds = 0
        self.record.replans = self.record.schedules = 0

    def _scheduler(self, env: simpy.Environment, platform: Platform) -> Generator[simpy.Event, Any, None]:
        every = self.scenario.planning.schedule_every_hours * 60
        while True:
            yield env.timeout(every)
            with self._timed("schedule"):
                told, self.dirty = self.dirty, set()
                due, failed = schedule_cycle(platform, told, time_limit=self.scenario.planning.schedule_seconds)
            if failed:
                raise next(iter(failed.values()))
            self.record.schedules += len(due)

    def _planner(self, env: simpy.Environment, platform: Platform) -> Generator[simpy.Event, Any, None]:
        every = self.scenario.planning.replan_every_hours * 60
        while True:
            yield env.timeout(every)
            with self._timed("replan"):
                learn_lane_transit(platform)  # first, so the re-plan judges promises by what lanes really take
            self._replan(platform, "schedule")

    def _replan(self, platform: Platform, trigger: str) -> None:
        with self._timed("replan"):
            replan_network(platform, trigger=trigger, time_limit=self.scenario.planning.replan_seconds)
        self.record.replans += 1

    def _outage(
        self,
        env: simpy.Environment,
        platform: Platform,
        clock: SimClock,
        floor: ShopFloor,
        factory: str,
        start: Any,
        days: float,
    ) -> Generator[simpy.Event, Any, None]:
        """A factory goes dark (the services flag its promises), then comes back and is rescheduled."""
        yield env.timeout(clock.until(start))
        floor.outage(factory, env.now, env.now + days * DAY)
        set_status(platform, OPERATOR, factory, FactoryStatus.dark)
        if self.policy_name == "meshfab":
            self._replan(platform, "factory-dark")
        yield env.timeout(days * DAY)
        set_status(platform, OPERATOR, factory, FactoryStatus.active)  # which tells the scheduling cycle

    def _days(
        self, env: simpy.Environment, platform: Platform, progress: Callable[[int, Record, dict[str, int]], None]
    ) -> Generator[simpy.Event, Any, None]:
        day, last = 0, time.perf_counter()
        while True:
            yield env.timeout(DAY)
            now = time.perf_counter()
            ended = (self.scenario.run_start + timedelta(days=day)).date().isoformat()
            self.record.wall_by_day[ended], last = now - last, now
            day += 1
            with platform.uow() as uow:
                closed = dict(
                    uow.session.execute(
                        select(PromiseRow.status, func.count())
                        .where(PromiseRow.status.in_([PromiseStatus.delivered.value, PromiseStatus.broken.value]))
                        .group_by(PromiseRow.status)
                    ).all()
                )
            progress(day, self.record, closed)
