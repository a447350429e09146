"""Factory scheduling use cases: schedule a factory, read its timeline, take progress from the shop floor.

A schedule releases one work order per lot (`work_order.released` through the outbox). Rescheduling keeps a
lot's work order when the lot survives (same lot id), replaces the ones that changed, and never touches a
started one. A line the schedule finishes after its ship cutoff raises `promise.at_risk` at once, with the
new best date, so the buyer hears before the date is missed.
"""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from meshfab.domain.errors import InvalidInput, NotFound, Problem
from meshfab.domain.events import Event
from meshfab.domain.orders import OrderStatus, PromiseStatus
from meshfab.domain.principals import Principal, Role
from meshfab.domain.work import Progress, WorkOrderStatus, progress_to
from meshfab.engines import scheduling as sch
from meshfab.services.access import require_factory_access, require_role
from meshfab.services.platform import Platform
from meshfab.services.risk import mark_at_risk
from meshfab.services.schedule_problem import FactoryWork, at, on_the_floor, read_factory_work
from meshfab.services.shipping import parcel_finished_lines
from meshfab.store.repositories import rows_by_key
from meshfab.store.tables import OrderLineRow, PromiseRow, ScheduleRow, WorkOrderRow
from meshfab.store.uow import UnitOfWork

_LAST: dict[str, sch.ScheduleResult] = {}  # warm starts, per factory, for this process
_SOLVED: dict[str, tuple[tuple[sch.ScheduleProblem, float, int], sch.ScheduleResult]] = {}
"""Per factory, the last (problem, time limit, seed) solved and its schedule: asked again for the very same (a
re-plan and the scheduling cycle at one instant), the schedule is reused rather than solved again for the whole
time limit. Measured on a day of the twin's 100k scenario: a quarter of the solves were such repeats."""


class _Rationing:
    """Per factory, how many of its next solves skip the CP-SAT search (`Settings.schedule_search_backoff`).

    A search that does not beat the schedule it starts from is CPU spent for nothing, and on the twin's
    factories most short searches are (76 of 90 on a day of the 100k scenario). After such a miss the factory's
    next solve takes the starting schedule at once; after each further miss in a row twice as many do, up to
    the cap; a search that helps ends the rationing. Only the factory's own record counts, so the same
    sequence of problems gives the same sequence of schedules (the twin replays exactly)."""

    def __init__(self) -> None:
        self.misses: dict[str, int] = {}
        self.skips: dict[str, int] = {}

    def search(self, factory_id: str, cap: int) -> bool:
        """Whether this solve searches; a skipped one uses up one of the factory's skips."""
        left = self.skips.get(factory_id, 0) if cap > 0 else 0
        if left:
            self.skips[factory_id] = left - 1
        return not left

    def learn(self, factory_id: str, improved: bool, cap: int) -> None:
        if improved or cap <= 0:
            self.misses.pop(factory_id, None)
            self.skips.pop(factory_id, None)
            return
        misses = self.misses[factory_id] = self.misses.get(factory_id, 0) + 1
        self.skips[factory_id] = min(cap, 2 ** (misses - 1))

    def clear(self) -> None:
        self.misses.clear()
        self.skips.clear()


_RATIONED = _Rationing()


def forget_schedules() -> None:
    """Drop the warm starts, the solved problems and the search rationing: they belong to one database (a
    simulation run, a test)."""
    _LAST.clear()
    _SOLVED.clear()
    _RATIONED.clear()


def schedule_factory(platform: Platform, factory_id: str, *, time_limit: float | None = None, seed: int = 0) -> dict:
    with platform.uow() as uow:
        job = _read(platform, uow, factory_id)
        result = _solve(job, _limit(platform, job, time_limit), seed)
        _write(uow, job, result)
    return get_schedule(platform, Principal.parse("operator"), factory_id)


def factories_due(platform: Platform, told: Iterable[str]) -> list[str]:
    """The factories a scheduling cycle schedules: those told of new work since the last cycle and those whose
    schedule left work beyond its release window (time moves the window on), but not those scheduled at this
    very instant (by a re-plan of the same tick, which saw every order so far)."""
    now = platform.clock.now()
    with platform.uow() as uow:
        rows = uow.session.execute(select(ScheduleRow.factory_id, ScheduleRow.waiting_lines, ScheduleRow.computed_at))
        waiting, fresh = set(), set()
        for factory_id, lines, computed_at in rows:
            if lines:
                waiting.add(factory_id)
            if computed_at == now:
                fresh.add(factory_id)
    return sorted((set(told) | waiting) - fresh)


def schedule_cycle(
    platform: Platform, told: Iterable[str], *, time_limit: float | None = None, seed: int = 0
) -> tuple[list[str], dict[str, Exception]]:
    """One pass of the scheduling cycle (`meshfab serve` and the twin run the same): the due factories are
    scheduled; returns them and those whose schedule failed, with the error."""
    due = factories_due(platform, told)
    return due, schedule_factories(platform, due, time_limit=time_limit, seed=seed)


def schedule_factories(
    platform: Platform,
    factory_ids: Iterable[str],
    *,
    time_limit: float | None = None,
    seed: int = 0,
    workers: int | None = None,
) -> dict[str, Exception]:
    """Schedule several factories, each exactly as `schedule_factory` does, with up to `workers` solves at once.

    A factory's solve reads nothing another factory's schedule writes, and CP-SAT releases the GIL, so the
    solves may overlap. Every read, write and commit stays in this thread in the given order: the ids drawn
    and the events written follow each other as they would one factory after another. Returns the factories
    whose schedule failed, with the error: one factory's failure must not cost the others their schedule.
    """
    lanes = max(1, workers or platform.settings.schedule_workers)
    failed: dict[str, Exception] = {}
    waiting = deque(factory_ids)
    running: deque[tuple[_Job, Future[sch.ScheduleResult]]] = deque()
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="schedule") as pool:
        try:
            while waiting or running:
                while waiting and len(running) < lanes:
                    factory_id = waiting.popleft()
                    uow = platform.uow().open()
                    try:
                        job = _read(platform, uow, factory_id)
                    except Exception as exc:
                        uow.close()
                        failed[factory_id] = exc
                        continue
                    running.append((job, pool.submit(_solve, job, _limit(platform, job, time_limit), seed)))
                if running:
                    job, solving = running.popleft()
                    try:
                        _write(job.uow, job, solving.result())
                    except Exception as exc:
                        failed[job.factory_id] = exc
                    finally:
                        job.uow.close()
        finally:
            for job, solving in running:  # left only by an error that is not one factory's (an interrupt)
                solving.cancel()
                job.uow.close()
    return failed


@dataclass(frozen=True)
class _Job:
    """One factory's schedule in the making: its transaction (the factory row locked), its work and its warm
    start, all read before the solve so that the solve itself touches no session."""

    factory_id: str
    uow: UnitOfWork
    work: FactoryWork
    now: datetime
    warm_start: sch.ScheduleResult | None
    deterministic: bool = False
    """solve on CP-SAT's deterministic time rather than the clock (`Settings.deterministic_solvers`)"""
    search_backoff: int = 0
    """`Settings.schedule_search_backoff`: the most solves in a row that skip the search (`_Rationing`)"""


MIN_SECONDS = 0.1
"""The least a solve gets when its limit is scaled to the problem (`schedule_seconds_per_operation`)."""


def _limit(platform: Platform, job: _Job, time_limit: float | None) -> float:
    """The time limit, or less for a small problem when the platform scales limits to problem size: CP-SAT proves
    small schedules optimal early and stops, but one it cannot prove uses the whole limit, mostly without beating
    its start (measured on a day of the twin's 100k scenario: 0.003 s per operation, at least 0.1 s, took 53 %
    less solver time for +0.2 % tardiness and +2 % changeover minutes)."""
    limit = platform.settings.schedule_seconds if time_limit is None else time_limit
    per_operation = platform.settings.schedule_seconds_per_operation
    if per_operation <= 0:
        return limit
    operations = sum(len(lot.operations) for lot in job.work.problem.lots)
    return min(limit, max(MIN_SECONDS, per_operation * operations))


def _read(platform: Platform, uow: UnitOfWork, factory_id: str) -> _Job:
    """Lock the factory row (one schedule per factory at a time) and read its open work."""
    now = platform.clock.now()
    factory = uow.factories.get(factory_id, for_update=True)
    if factory is None:
        raise NotFound(f"factory {factory_id!r} not found")
    work = read_factory_work(uow.session, factory, now, platform.settings.schedule_release_days)
    return _Job(
        factory_id,
        uow,
        work,
        now,
        _LAST.get(factory_id),
        platform.settings.deterministic_solvers,
        platform.settings.schedule_search_backoff,
    )


def _solve(job: _Job, limit: float, seed: int) -> sch.ScheduleResult:
    """The factory's schedule: the last one when asked the very same again, else its starting schedule when the
    search is rationed away, else a search. It may run in a worker thread: the rationing it updates is the
    factory's own, and one factory's solves never overlap (`_read` locks its row)."""
    asked = (job.work.problem, limit, seed)
    solved = _SOLVED.get(job.factory_id)
    if solved is not None and solved[0] == asked:
        return solved[1]
    if not _RATIONED.search(job.factory_id, job.search_backoff):
        started = sch.quick(job.work.problem, warm_start=job.warm_start)
        if started.status.has_schedule:
            return started  # not kept as solved: the next search may beat it
    result = sch.solve(
        job.work.problem, time_limit=limit, seed=seed, warm_start=job.warm_start, deterministic=job.deterministic
    )
    _RATIONED.learn(job.factory_id, result.improved, job.search_backoff)
    if result.status.has_schedule:
        _SOLVED[job.factory_id] = (asked, result)
    return result


def _write(uow: UnitOfWork, job: _Job, result: sch.ScheduleResult) -> None:
    """Release the work orders, flag lines that will be late, store the schedule, commit."""
    factory_id, work, now = job.factory_id, job.work, job.now
    held_back = 0
    if result.status.has_schedule:
        _LAST[factory_id] = result
        held_back = _release(uow, factory_id, work, result, now)
        _flag_late(uow, work, result, now)
    timeline = [_op_json(op, work.origin) for ops in result.timelines.values() for op in ops]
    values = {
        "computed_at": now,
        "status": result.status.value,
        "waiting_lines": len({line_id.split("#")[0] for line_id in work.waiting}) + held_back,
        "seconds": result.seconds,
        "objective": _objective(result.objective),
        "bound": _objective(result.bound),
        "timeline": sorted(timeline, key=lambda op: (op["machine_id"], op["start"])),
        "lines": [
            {
                "line_id": line.line_id,
                "due": _iso(work.origin, line.due),
                "completion": _iso(work.origin, line.completion),
                "lateness_minutes": line.lateness,
            }
            for line in result.lines
        ],
    }
    stored = insert(ScheduleRow).values(factory_id=factory_id, **values)  # no need to read the old one first
    uow.session.execute(stored.on_conflict_do_update(index_elements=[ScheduleRow.factory_id], set_=values))
    uow.commit()


def _objective(objective: sch.Objective | None) -> dict[str, int] | None:
    return (
        None
        if objective is None
        else {
            "weighted_tardiness": objective.weighted_tardiness,
            "setup_minutes": objective.setup_minutes,
            "makespan": objective.makespan,
        }
    )


def _iso(origin: datetime, offset: int | None) -> str | None:
    return None if offset is None else at(origin, offset).isoformat()


def _op_json(op: sch.ScheduledOperation, origin: datetime) -> dict[str, Any]:
    return {
        "operation_id": op.operation_id,
        "lot_id": op.lot_id,
        "line_ids": list(op.line_ids),
        "machine_id": op.machine_id,
        "workcenter_id": op.workcenter_id,
        "start": op.start,
        "end": op.end,
        "setup": op.setup,
        "at": at(origin, op.start).isoformat(),
        "until": at(origin, op.end).isoformat(),
        "fixed": op.fixed,
    }


def _release(uow: UnitOfWork, factory_id: str, work: FactoryWork, result: sch.ScheduleResult, now: datetime) -> int:
    """One work order per lot; unchanged lots keep theirs, gone lots lose theirs, new lots are released.

    The floor does not wait for the solve: a lot may start or finish while it runs (a report touches no row
    the schedule locks). A lot whose lines went to the floor meanwhile is not released again, or they would
    be made twice; its other lines wait for the next schedule, which they keep the factory due for (the count
    returned). A scrap's replacement work cannot appear meanwhile: its row's key to the factory waits for the
    factory row this schedule holds."""
    by_lot: dict[str, list[dict[str, Any]]] = {}
    for ops in result.timelines.values():
        for op in ops:
            by_lot.setdefault(op.lot_id, []).append(_op_json(op, work.origin))
    existing = {
        w.lot_id: w
        for w in uow.session.scalars(
            select(WorkOrderRow).where(
                WorkOrderRow.factory_id == factory_id, WorkOrderRow.status == WorkOrderStatus.released.value
            )
        )
    }
    uow.session.execute(
        delete(WorkOrderRow).where(
            WorkOrderRow.factory_id == factory_id, WorkOrderRow.status == WorkOrderStatus.replacement.value
        )
    )
    floor_lots, floor_lines = on_the_floor(uow.session, factory_id, since=now)
    held_back: set[str] = set()
    for lot in work.problem.lots:
        if lot.id not in by_lot or lot.id in floor_lots:
            continue
        if any(part.line_id in floor_lines for part in lot.lines):  # a replacement part ("line#r…") never is
            held_back |= {part.line_id for part in lot.lines if part.line_id not in floor_lines}
            continue
        ops = sorted(by_lot[lot.id], key=lambda op: op["start"])
        lines = sorted({part.line_id.split("#")[0] for part in lot.lines})
        due = min((work.demands[p.line_id].due_at for p in lot.lines if p.line_id in work.demands), default=now)
        row = existing.pop(lot.id, None)
        if row is None:
            row = WorkOrderRow(
                id=uuid.uuid4(), factory_id=factory_id, lot_id=lot.id, status="released", scrap=0, released_at=now
            )
            uow.session.add(row)
            uow.emit(
                Event(
                    "work_order.released",
                    f"work_order:{row.id}",
                    {
                        "work_order_id": str(row.id),
                        "factory_id": factory_id,
                        "lot_id": lot.id,
                        "lines": lines,
                        "quantity": lot.quantity,
                        "start": ops[0]["at"],
                        "due": due.isoformat(),
                    },
                    now,
                )
            )
        row.capability = ops[0]["workcenter_id"]
        row.setup_family, row.line_ids, row.quantity, row.due_at, row.operations = (
            lot.family,
            lines,
            lot.quantity,
            due,
            ops,
        )
    for gone in existing.values():
        uow.session.delete(gone)
    return len({line_id.split("#")[0] for line_id in held_back})


def _flag_late(uow: UnitOfWork, work: FactoryWork, result: sch.ScheduleResult, now: datetime) -> None:
    finish: dict[UUID, int] = {}
    for line in result.lines:
        demand = work.demands.get(line.line_id)
        if demand is not None:
            finish[demand.line_id] = max(finish.get(demand.line_id, line.completion), line.completion)
    promises = rows_by_key(uow.session, PromiseRow, PromiseRow.line_id, finish)  # one read, not one per line
    for line_id, completion in finish.items():
        promise = promises.get(line_id)
        if promise is None:
            continue
        late = completion - math.floor((promise.ship_at - work.origin).total_seconds() / 60)
        if late > 0 and promise.status == PromiseStatus.kept.value:
            best = promise.delivery_by + timedelta(days=math.ceil(late / (24 * 60)))
            reason = f"the factory schedule finishes {late} min after the ship cutoff; best date {best.isoformat()}"
            mark_at_risk(uow, promise, reason, now, best)


def get_schedule(platform: Platform, principal: Principal, factory_id: str) -> dict[str, Any]:
    require_factory_access(principal, factory_id)
    with platform.uow() as uow:
        if uow.factories.get(factory_id) is None:
            raise NotFound(f"factory {factory_id!r} not found")
        row = uow.session.get(ScheduleRow, factory_id)
        if row is None:
            return {"factory_id": factory_id, "status": "none", "waiting_lines": 0, "workcenters": {}, "lines": []}
        timelines: dict[str, list[dict[str, Any]]] = {}
        for op in row.timeline:
            timelines.setdefault(op["machine_id"], []).append(op)
        return {
            "factory_id": factory_id,
            "computed_at": row.computed_at,
            "status": row.status,
            "objective": row.objective,
            "bound": row.bound,
            "seconds": row.seconds,
            "waiting_lines": row.waiting_lines,
            "workcenters": timelines,
            "lines": row.lines,
        }


def report_progress(
    platform: Platform, principal: Principal, work_order_id: UUID, event: Progress, quantity: int | None = None
) -> dict[str, Any]:
    """Start, finish or scrap, from the floor. Scrap creates replacement work, and the scheduling cycle is told
    to schedule it at once: the report returns without waiting for a solve (seconds of CP-SAT)."""
    require_role(principal, {Role.operator, Role.factory}, "report progress")
    now = platform.clock.now()
    with platform.uow() as uow:
        row = uow.session.get(WorkOrderRow, work_order_id, with_for_update=True)
        if row is None or (principal.role is Role.factory and principal.subject != row.factory_id):
            raise NotFound(f"work order {work_order_id} not found")
        row.status = progress_to(WorkOrderStatus(row.status), event).value
        factory_id = row.factory_id
        if event is Progress.start:
            row.started_at = now
            _start_orders(uow, row.line_ids, now)
        elif event is Progress.finish:
            row.finished_at = now
            _finish_lines(uow, factory_id, row.line_ids, now)
        else:
            if quantity is None or not 1 <= quantity <= row.quantity:
                raise InvalidInput(
                    "bad scrap quantity",
                    [Problem(("body", "quantity"), f"between 1 and the lot's {row.quantity} units")],
                )
            row.scrap += quantity
            uow.session.add(
                WorkOrderRow(
                    id=uuid.uuid4(),
                    factory_id=factory_id,
                    capability=row.capability,
                    setup_family=row.setup_family,
                    line_ids=row.line_ids[:1],
                    quantity=quantity,
                    due_at=row.due_at,
                    status="replacement",
                    scrap=0,
                    released_at=now,
                )
            )
        uow.emit(
            Event(
                f"work_order.{event.value}",
                f"work_order:{work_order_id}",
                {"work_order_id": str(work_order_id), "factory_id": factory_id, "quantity": quantity},
                now,
            )
        )
        uow.commit()
        answer = {"id": str(work_order_id), "status": row.status, "scrap": row.scrap}
    if event is Progress.scrap:
        platform.on_new_work(factory_id, True)
    if event is Progress.finish:
        answer["parcels"] = [str(p) for p in parcel_finished_lines(platform, factory_id)]
    return answer


def _start_orders(uow: UnitOfWork, line_ids: list[str], now: datetime) -> None:
    order_ids = uow.session.scalars(
        select(OrderLineRow.order_id).where(OrderLineRow.id.in_([UUID(x) for x in line_ids]))
    )
    uow.orders.move_forward(order_ids, OrderStatus.in_production, now, only_from=[OrderStatus.allocated])


def _finish_lines(uow: UnitOfWork, factory_id: str, line_ids: list[str], now: datetime) -> None:
    """An order is produced when no open work remains for any of its lines."""
    open_lines = uow.work_orders.open_lines(factory_id)
    orders = set(
        uow.session.scalars(select(OrderLineRow.order_id).where(OrderLineRow.id.in_([UUID(x) for x in line_ids])))
    )
    lines_of: dict[UUID, set[str]] = {order_id: set() for order_id in orders}
    for order_id, line_id in uow.session.execute(
        select(OrderLineRow.order_id, OrderLineRow.id).where(OrderLineRow.order_id.in_(orders))
    ):
        lines_of[order_id].add(str(line_id))
    done = [order_id for order_id, lines in lines_of.items() if not lines & open_lines]
    uow.orders.move_forward(done, OrderStatus.produced, now, only_from=[OrderStatus.in_production])
