"""From placements (operation → machine, start) to a full result, and the independent feasibility check.

One place computes changeovers, lateness and the objective of a schedule: the solver's answer, a warm
start re-read against a changed problem and the tests all go through it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from .calendar import Shifts
from .problem import ScheduleProblem
from .result import LineLateness, Objective, ScheduledOperation, ScheduleResult, SolveStatus

Placement = tuple[str, int]
"""(machine id, start minute) of one operation."""


def durations(problem: ScheduleProblem) -> dict[str, dict[str, int]]:
    """Operation id → machine id → minutes (the shortest mode when several reach one machine)."""
    table: dict[str, dict[str, int]] = {}
    for lot in problem.lots:
        for op in lot.operations:
            options: dict[str, int] = {}
            for mode in op.modes:
                for machine, minutes in problem.eligible(mode):
                    options[machine] = min(minutes, options.get(machine, minutes))
            table[op.id] = options
    return table


def build_result(
    problem: ScheduleProblem,
    placements: Mapping[str, Placement],
    *,
    status: SolveStatus,
    bound: Objective | None = None,
    seconds: float = 0.0,
    message: str = "",
) -> ScheduleResult:
    """Timelines, changeovers, line lateness and objective of a complete set of placements."""
    table = durations(problem)
    machine_wc = problem.workcenter_of()
    wc_by_id = {wc.id: wc for wc in problem.workcenters}
    started = {s.operation_id for s in problem.started}
    lot_of = {op.id: lot for lot in problem.lots for op in lot.operations}
    per_machine: dict[str, list[tuple[int, str]]] = {m: [] for m in machine_wc}
    for op_id, (machine, start) in placements.items():
        per_machine[machine].append((start, op_id))
    timelines: dict[str, tuple[ScheduledOperation, ...]] = {}
    setup_total = 0
    for machine, entries in per_machine.items():
        entries.sort()
        family = wc_by_id[machine_wc[machine].id].initial_family
        placed: list[ScheduledOperation] = []
        for start, op_id in entries:
            lot = lot_of[op_id]
            fixed = op_id in started
            setup = 0 if fixed else problem.setup(family, lot.family)
            setup_total += setup
            placed.append(
                ScheduledOperation(
                    operation_id=op_id,
                    lot_id=lot.id,
                    line_ids=tuple(p.line_id for p in lot.lines),
                    machine_id=machine,
                    workcenter_id=machine_wc[machine].id,
                    start=start,
                    end=start + table[op_id][machine],
                    setup=setup,
                    fixed=fixed,
                )
            )
            family = lot.family
        timelines[machine] = tuple(placed)
    ends = {op.operation_id: op.end for ops in timelines.values() for op in ops}
    completion: dict[str, int] = {}
    parts: dict[str, tuple[int | None, int]] = {}
    for lot in problem.lots:
        lot_end = ends[lot.operations[-1].id]
        for part in lot.lines:
            completion[part.line_id] = max(lot_end, completion.get(part.line_id, lot_end))
            due, weight = parts.get(part.line_id, (part.due, part.weight))
            if part.due is not None and (due is None or part.due < due):
                due = part.due
            parts[part.line_id] = (due, max(weight, part.weight))
    lines = tuple(
        LineLateness(line_id=lid, due=parts[lid][0], completion=completion[lid], weight=parts[lid][1])
        for lid in sorted(completion)
    )
    makespan = max(ends.values(), default=0)
    objective = Objective(sum(line.weight * line.tardiness for line in lines), setup_total, makespan)
    return ScheduleResult(
        status=status,
        timelines=timelines,
        lines=lines,
        objective=objective,
        bound=bound,
        seconds=seconds,
        message=message,
    )


def violations(problem: ScheduleProblem, result: ScheduleResult) -> list[str]:
    """Every broken rule of a result, in words; empty for a valid schedule.

    Checks: each operation placed once on a machine allowed by one of its modes, with that mode's duration;
    no overlap on a machine, changeovers included; lot order; releases and the origin; calendars; started
    operations unmoved; changeover minutes as the setup matrix says.
    """
    problems: list[str] = []
    table = durations(problem)
    placed = [op for ops in result.timelines.values() for op in ops]
    counts: dict[str, int] = {}
    for op in placed:
        counts[op.operation_id] = counts.get(op.operation_id, 0) + 1
    for op_id in table:
        if counts.get(op_id, 0) != 1:
            problems.append(f"operation {op_id} placed {counts.get(op_id, 0)} times")
    by_id = {op.operation_id: op for op in placed}
    machine_wc = problem.workcenter_of()
    shifts = {machine: Shifts.of(problem.calendar_of(wc)) for machine, wc in machine_wc.items()}
    family_of = {lot.id: lot.family for lot in problem.lots}
    started = {s.operation_id: s for s in problem.started}
    for op in placed:
        allowed = table.get(op.operation_id, {})
        if op.machine_id not in allowed:
            problems.append(f"operation {op.operation_id} on machine {op.machine_id} it cannot use")
            continue
        if op.end - op.start != allowed[op.machine_id]:
            problems.append(f"operation {op.operation_id} lasts {op.end - op.start}, not {allowed[op.machine_id]}")
        if op.operation_id in started:
            s = started[op.operation_id]
            if (op.machine_id, op.start) != (s.machine_id, s.start):
                problems.append(f"started operation {op.operation_id} was moved")
            continue
        if op.start - op.setup < 0:
            problems.append(f"operation {op.operation_id} (with its changeover) starts before the origin")
        if not shifts[op.machine_id].holds(op.start - op.setup, op.end):
            problems.append(f"operation {op.operation_id} is outside the calendar or spans a break")
    for machine, ops in result.timelines.items():
        family = machine_wc[machine].initial_family if machine in machine_wc else None
        ordered = sorted(ops, key=lambda o: o.start)
        for before, after in pairwise(ordered):
            if after.start - after.setup < before.end:
                problems.append(f"{before.operation_id} and {after.operation_id} overlap on {machine}")
        for op in ordered:
            lot_family = family_of[op.lot_id]
            needed = 0 if op.fixed else problem.setup(family, lot_family)
            if op.setup != needed:
                problems.append(f"operation {op.operation_id} has changeover {op.setup}, needs {needed}")
            family = lot_family
    for lot in problem.lots:
        ops = [by_id.get(op.id) for op in lot.operations]
        for op in ops:
            if op is not None and not op.fixed and op.start < lot.release:
                problems.append(f"operation {op.operation_id} starts before lot {lot.id} is released")
        for before, after in pairwise(ops):
            if before is not None and after is not None and after.start < before.end:
                problems.append(f"lot {lot.id}: {after.operation_id} starts before {before.operation_id} ends")
    return problems
