"""Re-plan the network: re-route every unstarted line across the mesh, apply the result, report the run.

The solve reads a consistent picture, then the apply step runs in one transaction that locks every bucket it
touches in the global order. A move whose new buckets were taken by an order placed while the solver ran is
skipped (the line keeps its old plan) and reported, never forced. Promises the new plan cannot keep are
flagged `promise.at_risk` with the new best date; promises it repairs go back to `kept`. Lines that cannot be
saved anywhere keep their old reservations (nothing is lost) and are listed by id.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import delete, func, select

from meshfab.domain.capacity import Bucket
from meshfab.domain.errors import Conflict, NotFound
from meshfab.domain.events import Event
from meshfab.domain.orders import PromiseStatus
from meshfab.domain.principals import Principal
from meshfab.engines import routing
from meshfab.engines.routing.evaluate import evaluate
from meshfab.services.access import require_operator
from meshfab.services.network_problem import NetworkView, PlannedLine, read_network, ready_at, transit_days
from meshfab.services.platform import Platform
from meshfab.services.risk import is_news, mark_at_risk
from meshfab.services.scheduling import schedule_factories
from meshfab.settings import Settings
from meshfab.store.capacity import BucketKey, lock_buckets, write_reserved
from meshfab.store.repositories import in_chunks, insert_rows, update_rows
from meshfab.store.tables import OrderLineRow, PlanningRunRow, PromiseRow, ReservationRow
from meshfab.store.uow import UnitOfWork

log = logging.getLogger(__name__)
_RUNNING = threading.Lock()  # one re-plan at a time per process; the database locks keep processes honest


PLANNER_LOCK = 0x6D657368  # advisory lock id: one re-plan at a time across every process on the database


def replan_weights(settings: Settings) -> routing.Weights:
    """The plan's prices in the platform's minor units: a promise outweighs any saving, and giving a line up
    outweighs a month of lateness (the engine saves every line it can before it optimises money)."""
    late_month = 30 * settings.replan_lateness_per_day + 900 * settings.replan_lateness_per_day_squared
    return routing.Weights(
        lateness_per_day=settings.replan_lateness_per_day,
        lateness_per_day_squared=settings.replan_lateness_per_day_squared,
        move=settings.replan_move,
        unassigned=max(routing.Weights().unassigned, 10 * late_month),
    )


def replan_network(platform: Platform, *, trigger: str, time_limit: float | None = None, seed: int = 0) -> UUID:
    """Run one re-plan and return the id of its stored run; `Conflict` if another one is running."""
    with _RUNNING, platform.engine.connect() as guard:
        if not guard.execute(select(func.pg_try_advisory_lock(PLANNER_LOCK))).scalar_one():
            raise Conflict("a network re-plan is already running; try again when it finishes")
        try:
            return _replan(platform, trigger=trigger, time_limit=time_limit, seed=seed)
        finally:
            guard.execute(select(func.pg_advisory_unlock(PLANNER_LOCK)))


def _replan(platform: Platform, *, trigger: str, time_limit: float | None, seed: int) -> UUID:
    started, clock = platform.clock.now(), time.perf_counter()
    limit = platform.settings.replan_seconds if time_limit is None else time_limit
    with platform.uow() as uow:
        settings = platform.settings
        view = read_network(
            uow.session,
            started,
            settings.replan_horizon_days,
            replan_weights(settings),
            settings.handover_margin_minutes,
        )
    before = {
        key: (line.reservations[0].factory_id, _day_index(view, line)) if line.reservations else None
        for key, line in view.lines.items()
    }
    deterministic = platform.settings.deterministic_solvers
    result = (
        routing.solve(view.problem, time_limit=limit, seed=seed, workers=1, deterministic=deterministic)
        if view.problem.lines
        else None
    )
    with platform.uow() as uow:
        applied = _apply(uow, view, before, result, started) if result else _Applied()
        run_id = uuid.uuid4()
        uow.session.add(
            PlanningRunRow(
                id=run_id,
                trigger=trigger,
                started_at=started,
                seconds=time.perf_counter() - clock,
                status=result.status.value if result else "empty",
                lines=len(view.problem.lines),
                factories=len(view.problem.factories),
                buckets=view.buckets,
                cost_before=_split(evaluate(view.problem, before)),
                cost_after=_split(result.costs) if result else _split(routing.CostSplit()),
                objective=result.objective if result else 0.0,
                lower_bound=result.lower_bound if result else 0.0,
                gap=result.gap if result else 0.0,
                moved=applied.moved,
                unassigned=result.unassigned if result else [],
                skipped=applied.skipped,
                at_risk=applied.at_risk,
            )
        )
        uow.emit(
            Event(
                "planning.run_finished",
                f"planning_run:{run_id}",
                {
                    "run_id": str(run_id),
                    "trigger": trigger,
                    "moved": len(applied.moved),
                    "unassigned": result.unassigned if result else [],
                },
                started,
            )
        )
        uow.commit()
    platform.capacity.invalidate()
    _reschedule(platform, view, applied.moved)
    return run_id


def _reschedule(platform: Platform, view: NetworkView, moved: list[str]) -> None:
    """Factories that gained or lost lines get a new schedule (and their work orders) right away."""
    with platform.uow() as uow:
        now_at = {
            str(line_id): factory
            for line_id, factory in uow.session.execute(
                select(OrderLineRow.id, OrderLineRow.factory_id).where(
                    OrderLineRow.id.in_([view.lines[key].line_id for key in moved])
                )
            )
        }
    touched = {view.lines[key].reservations[0].factory_id for key in moved if view.lines[key].reservations}
    touched |= {f for f in now_at.values() if f}
    failed = schedule_factories(platform, sorted(touched))
    for factory_id, exc in failed.items():  # one factory's schedule must not undo a plan that is already applied
        log.error("scheduling %s after a re-plan failed", factory_id, exc_info=exc)


class _Applied:
    def __init__(self) -> None:
        self.moved: list[str] = []
        self.skipped: list[str] = []
        self.at_risk: list[str] = []


def _day_index(view: NetworkView, line: PlannedLine) -> int:
    return max((r.day - view.base).days for r in line.reservations)


def _apply(
    uow: UnitOfWork,
    view: NetworkView,
    before: dict[str, tuple[str, int] | None],
    result: routing.RoutingResult,
    now: datetime,
) -> _Applied:
    done = _Applied()
    moves = {key: target for key, target in result.assignment.items() if target is not None and target != before[key]}
    keys = []
    for key, (factory_id, day) in moves.items():
        line = view.lines[key]
        keys += [(r.factory_id, r.capability, r.day) for r in line.reservations]
        keys += [(factory_id, cap, view.day(day)) for cap in line.minutes]
    rows = _Rows.read(uow, view, lock_buckets(uow.session, view.factories, keys))
    pending = sorted(moves)
    while pending:  # a move may wait on a later one to free its bucket: pass again while any goes through
        blocked = [key for key in pending if not _move(uow, view, rows, key, moves[key], now)]
        if len(blocked) == len(pending):
            break
        pending = blocked
    if pending and not _move_together(uow, view, rows, {key: moves[key] for key in pending}, now):
        done.skipped = pending
    skipped = set(done.skipped)
    done.moved = [key for key in sorted(moves) if key not in skipped]
    rows.replace_reservations(uow)
    write_reserved(uow.session, rows.buckets.values())
    for key in sorted(view.lines):
        if key in skipped:
            continue
        target = result.assignment.get(key)
        line = view.lines[key]
        if _judge_promise(uow, view, line, rows.promises.get(line.line_id), target, now):
            done.at_risk.append(key)
    rows.write(uow)
    return done


@dataclass
class _Promise:
    """A promise as the apply reads and changes it: plain values, written back in bulk only if changed (a plan
    judges every open promise and changes a few; ORM rows for all of them cost more than the plan's SQL)."""

    line_id: UUID
    order_id: UUID
    delivery_by: date
    factory_id: str
    lane_id: str
    ready_at: datetime
    ship_at: datetime
    status: str
    risk: str | None
    risk_best_by: date | None
    updated_at: datetime

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "line_id",
        "order_id",
        "delivery_by",
        "factory_id",
        "lane_id",
        "ready_at",
        "ship_at",
        "status",
        "risk",
        "risk_best_by",
        "updated_at",
    )
    WRITTEN: ClassVar[tuple[str, ...]] = COLUMNS[3:]

    def written(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in self.WRITTEN)


@dataclass
class _Rows:
    """What an apply reads and writes, in a few statements rather than one per line: the lines' promises, the
    locked buckets (changed in memory by the moves and written once at the end) and the moved lines' new
    reservations and factories."""

    promises: dict[UUID, _Promise]
    read_as: dict[UUID, tuple[Any, ...]]
    """each promise's written columns as read: a promise is written back only if they changed"""
    buckets: dict[BucketKey, Bucket]
    reserved: list[dict[str, Any]] = field(default_factory=list)
    moved: dict[UUID, str] = field(default_factory=dict)
    """moved line -> its new factory"""

    @classmethod
    def read(cls, uow: UnitOfWork, view: NetworkView, buckets: dict[BucketKey, Bucket]) -> _Rows:
        columns = [getattr(PromiseRow, c) for c in _Promise.COLUMNS]
        promises: dict[UUID, _Promise] = {}
        for chunk in in_chunks(line.line_id for line in view.lines.values()):
            for values in uow.session.execute(select(*columns).where(PromiseRow.line_id.in_(chunk))):
                promises[values[0]] = _Promise(*values)
        return cls(promises, {key: p.written() for key, p in promises.items()}, buckets)

    def replace_reservations(self, uow: UnitOfWork) -> None:
        """The moved lines' old reservations go and their new ones come, in one statement per few thousand."""
        for chunk in in_chunks(self.moved):
            uow.session.execute(delete(ReservationRow).where(ReservationRow.line_id.in_(chunk)))
        insert_rows(uow.session, ReservationRow, self.reserved)

    def write(self, uow: UnitOfWork) -> None:
        """The moved lines' factories and the changed promises, a few statements for all of them."""
        moved = [{"id": line_id, "factory_id": factory_id} for line_id, factory_id in self.moved.items()]
        update_rows(uow.session, OrderLineRow, "id", moved)
        changed = [p for key, p in sorted(self.promises.items()) if p.written() != self.read_as[key]]
        update_rows(
            uow.session,
            PromiseRow,
            "line_id",
            [{c: getattr(p, c) for c in ("line_id", *_Promise.WRITTEN)} for p in changed],
        )


def _move(uow: UnitOfWork, view: NetworkView, rows: _Rows, key: str, target: tuple[str, int], now: datetime) -> bool:
    """Release the line's old minutes and take the new ones, unless they are not free (an order placed meanwhile
    took them, or a line still to move holds them): then the line keeps its plan, for now."""
    line = view.lines[key]
    _give_back(rows, line, -1)
    if not _room(view, rows, line, target):
        _give_back(rows, line, +1)
        return False
    _take(uow, view, rows, line, target, now)
    return True


def _move_together(
    uow: UnitOfWork, view: NetworkView, rows: _Rows, moves: dict[str, tuple[str, int]], now: datetime
) -> bool:
    """The moves no single pass could make, all at once or none: lines that trade places (each into a bucket the
    other holds) fit only once both have left. All old minutes are released first; if any new ones then do not
    fit, every bucket is put back as it was."""
    lines = [view.lines[key] for key in sorted(moves)]
    for line in lines:
        _give_back(rows, line, -1)
    wanted: dict[BucketKey, int] = {}
    for key, line in zip(sorted(moves), lines, strict=True):
        factory_id, day = moves[key]
        for cap, minutes in line.minutes.items():
            bucket_key = (factory_id, cap, view.day(day))
            wanted[bucket_key] = wanted.get(bucket_key, 0) + minutes
    if any(
        b not in rows.buckets or rows.buckets[b].available - rows.buckets[b].reserved < m for b, m in wanted.items()
    ):
        for line in lines:
            _give_back(rows, line, +1)
        return False
    for key, line in zip(sorted(moves), lines, strict=True):
        _take(uow, view, rows, line, moves[key], now)
    return True


def _give_back(rows: _Rows, line: PlannedLine, sign: int) -> None:
    """Release (-1) or restore (+1) the minutes the line holds now."""
    for r in line.reservations:
        bucket = rows.buckets.get((r.factory_id, r.capability, r.day))
        if bucket is not None:
            bucket.reserved = max(0, bucket.reserved + sign * r.minutes)


def _room(view: NetworkView, rows: _Rows, line: PlannedLine, target: tuple[str, int]) -> bool:
    factory_id, day = target
    return all(
        (bucket := rows.buckets.get((factory_id, cap, view.day(day)))) is not None
        and bucket.available - bucket.reserved >= minutes
        for cap, minutes in line.minutes.items()
    )


def _take(
    uow: UnitOfWork, view: NetworkView, rows: _Rows, line: PlannedLine, target: tuple[str, int], now: datetime
) -> None:
    """Reserve the new minutes and move the line's order line, promise and lane there, with its event."""
    factory_id, index = target
    day = view.day(index)
    family = line.reservations[0].setup_family if line.reservations else ""
    rows.moved[line.line_id] = factory_id
    for cap, minutes in line.minutes.items():
        bucket = rows.buckets[(factory_id, cap, day)]
        bucket.reserved += minutes
        rows.reserved.append(
            {
                "line_id": line.line_id,
                "factory_id": factory_id,
                "capability": cap,
                "day": day,
                "minutes": minutes,
                "setup_family": family,
            }
        )
    old = line.reservations[0].factory_id if line.reservations else None
    promise = rows.promises.get(line.line_id)
    factory = view.factories[factory_id]
    lane = view.lane_for(line, factory.location.region)
    if promise is not None:
        promise.factory_id, promise.lane_id = factory_id, lane.id
        ready = ready_at(factory, day, sum(line.minutes.values()), now)
        on_time = factory.at_local(day, lane.cutoff) >= ready + view.handover_margin
        ship_day = day if on_time else day + timedelta(days=1)
        promise.ready_at, promise.ship_at = ready, factory.at_local(ship_day, lane.cutoff)
        promise.updated_at = now
    uow.emit(
        Event(
            "allocation.changed",
            f"line:{line.line_id}",
            {
                "line_id": str(line.line_id),
                "order_id": str(line.order_id),
                "from": old,
                "to": factory_id,
                "day": day.isoformat(),
            },
            now,
        )
    )


def _judge_promise(
    uow: UnitOfWork,
    view: NetworkView,
    line: PlannedLine,
    promise: _Promise | None,
    target: tuple[str, int] | None,
    now: datetime,
) -> bool:
    """Flag a promise the plan cannot keep (with the new best date), or restore one the plan repairs."""
    if promise is None:
        return False
    if target is None:
        best, reason = None, "no factory can make this line within the planning horizon"
    else:
        factory = view.factories[target[0]]
        ships = factory.local_day(promise.ship_at) if promise.factory_id == factory.id else view.day(target[1])
        best = ships + timedelta(days=transit_days(view.lane_for(line, factory.location.region), factory, ships))
        reason = f"the best plan now delivers by {best.isoformat()}"
    keeps = best is not None and best <= line.promised
    if keeps and promise.status == PromiseStatus.at_risk.value:
        promise.status, promise.risk, promise.risk_best_by, promise.updated_at = (
            PromiseStatus.kept.value,
            None,
            None,
            now,
        )
        uow.emit(Event("promise.repaired", f"line:{line.line_id}", {"line_id": str(line.line_id)}, now))
    elif not keeps and is_news(promise, best):
        mark_at_risk(uow, promise, reason, now, best)
        return True
    elif not keeps and (promise.risk, promise.risk_best_by) != (reason, best):
        promise.risk, promise.risk_best_by, promise.updated_at = reason, best, now  # better, still late: no event
    return False


def _split(costs: routing.CostSplit) -> dict[str, float]:
    return {**{k: round(v, 2) for k, v in asdict(costs).items()}, "total": round(costs.total, 2)}


def get_run(platform: Platform, principal: Principal, run_id: UUID) -> dict[str, Any]:
    require_operator(principal, "read planning runs")
    with platform.uow() as uow:
        row = uow.session.get(PlanningRunRow, run_id)
        if row is None:
            raise NotFound(f"planning run {run_id} not found")
        return {c.name: getattr(row, c.name) for c in PlanningRunRow.__table__.columns}
