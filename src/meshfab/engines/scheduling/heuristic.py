"""A quick dispatch schedule: the first hint for CP-SAT when there is no previous schedule, and a floor.

Serial schedule generation: repeatedly take, among the operations whose lot predecessor is placed, the one a
priority rule prefers, and append it on the machine where it would finish first — after the machine's last
operation, with the changeover from that operation's family, inside one working interval (the calendar rule
of :mod:`.calendar`). Several rules are tried and the schedule with the best objective is kept. Started
operations stay where they are. It is seconds-cheap and sound by construction, so ``solve`` can always
return at least this schedule when CP-SAT runs out of time before finding one.
"""

from __future__ import annotations

from collections.abc import Callable

from .calendar import Shifts
from .evaluate import Placement, build_result, durations
from .problem import Lot, ScheduleProblem
from .result import ScheduleResult, SolveStatus

_Rule = Callable[[Lot, int, int], tuple[float, ...]]
"""(lot, index of its next operation, earliest completion) → sort key, smallest first."""


def dispatch(problem: ScheduleProblem) -> ScheduleResult | None:
    """The best of a few priority-rule schedules, or ``None`` when an operation fits no working interval."""
    table = durations(problem)
    remaining = {
        lot.id: [sum(min(table[op.id].values()) for op in lot.operations[k:]) for k in range(len(lot.operations))]
        for lot in problem.lots
    }
    rules: list[_Rule] = [
        lambda lot, k, finish: (finish, -remaining[lot.id][k]),
        lambda lot, k, finish: (_due(lot), finish),
        lambda lot, k, finish: (-remaining[lot.id][k], finish),
    ]
    best: ScheduleResult | None = None
    for rule in rules:
        placements = _generate(problem, table, rule)
        if placements is None:
            return None
        result = build_result(problem, placements, status=SolveStatus.FEASIBLE, message="dispatch schedule")
        if best is None or (
            result.objective is not None and best.objective is not None and result.objective < best.objective
        ):
            best = result
    return best


def _due(lot: Lot) -> float:
    dues = [part.due for part in lot.lines if part.due is not None]
    return min(dues) if dues else float("inf")


def _generate(problem: ScheduleProblem, table: dict[str, dict[str, int]], rule: _Rule) -> dict[str, Placement] | None:
    wc_of = problem.workcenter_of()
    shifts = {machine: Shifts.of(problem.calendar_of(wc)) for machine, wc in wc_of.items()}
    fixed = {s.operation_id: s for s in problem.started}
    free_at = dict.fromkeys(wc_of, 0)
    family: dict[str, str | None] = {m: wc.initial_family for m, wc in wc_of.items()}
    lot_of = {op.id: lot for lot in problem.lots for op in lot.operations}
    for s in sorted(problem.started, key=lambda s: s.start):
        free_at[s.machine_id] = max(free_at[s.machine_id], s.start + table[s.operation_id][s.machine_id])
        family[s.machine_id] = lot_of[s.operation_id].family
    placements: dict[str, Placement] = {}
    lot_ready = {lot.id: max(0, lot.release) for lot in problem.lots}
    next_op = dict.fromkeys(lot_ready, 0)
    pending = {lot.id: lot for lot in problem.lots}
    while pending:
        choice: tuple[tuple[float, ...], str, str, int] | None = None
        for lot in pending.values():
            k = next_op[lot.id]
            op = lot.operations[k]
            if op.id in fixed:
                s = fixed[op.id]
                choice = ((float("-inf"),), lot.id, s.machine_id, s.start)
                break
            for machine, minutes in table[op.id].items():
                setup = problem.setup(family[machine], lot.family)
                begin = shifts[machine].earliest(max(free_at[machine], lot_ready[lot.id] - setup), setup + minutes)
                if begin is None:
                    continue
                start = begin + setup  # begin >= ready - setup: the lot is there when the run starts
                key = rule(lot, k, start + minutes)
                if choice is None or key < choice[0]:
                    choice = (key, lot.id, machine, start)
        if choice is None:
            return None
        _, lot_id, machine, start = choice
        lot = pending[lot_id]
        op = lot.operations[next_op[lot_id]]
        placements[op.id] = (machine, start)
        end = start + table[op.id][machine]
        if op.id not in fixed:  # a machine's state after its started work was set above, in time order
            free_at[machine] = max(free_at[machine], end)
            family[machine] = lot.family
        lot_ready[lot_id] = max(lot_ready[lot_id], end)
        next_op[lot_id] += 1
        if next_op[lot_id] == len(lot.operations):
            del pending[lot_id]
    return placements
