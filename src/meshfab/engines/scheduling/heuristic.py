"""A quick dispatch schedule: the first hint for CP-SAT when there is no previous schedule, and a floor.

Serial schedule generation: repeatedly take, among the operations whose lot predecessor is placed, the one a
priority rule prefers, and append it on the machine where it would finish first — after the machine's last
operation, with the changeover from that operation's family, inside one working interval (the calendar rule
of :mod:`.calendar`). Several rules are tried and the schedule with the best objective is kept. Started
operations stay where they are. It is seconds-cheap and sound by construction, so ``solve`` can always
return at least this schedule when CP-SAT runs out of time before finding one.
"""

from __future__ import annotations

import heapq
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
    shifts = {machine: Shifts.of(problem.calendar_of(wc)) for machine, wc in problem.workcenter_of().items()}
    for rule in rules:
        placements = _generate(problem, table, shifts, rule)
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


def _generate(
    problem: ScheduleProblem, table: dict[str, dict[str, int]], shifts: dict[str, Shifts], rule: _Rule
) -> dict[str, Placement] | None:
    """One serial schedule generation under ``rule``; ``None`` when some operation fits nowhere.

    At each step the operation taken is the one whose (rule key, lot's place in the problem, machine's place among
    its options) is smallest, a started operation first. Placing an operation changes only its lot and its
    machine, so only the choices that involve either are worked out again; the others wait in a heap. A month's
    backlog of a few hundred lots then costs the lots at one machine per step, not every lot at every machine."""
    wc_of = problem.workcenter_of()
    fixed = {s.operation_id: s for s in problem.started}
    free_at = dict.fromkeys(wc_of, 0)
    family: dict[str, str | None] = {m: wc.initial_family for m, wc in wc_of.items()}
    lots = problem.lots
    lot_at = {op.id: k for k, lot in enumerate(lots) for op in lot.operations}
    for s in sorted(problem.started, key=lambda s: s.start):
        free_at[s.machine_id] = max(free_at[s.machine_id], s.start + table[s.operation_id][s.machine_id])
        family[s.machine_id] = lots[lot_at[s.operation_id]].family
    ready = [max(0, lot.release) for lot in lots]
    next_op = [0] * len(lots)
    options: list[dict[str, tuple[tuple[float, ...], int] | None]] = [{} for _ in lots]
    """per lot, its next operation's (key, start) on each machine it may use, in the table's order"""
    waiting: dict[str, set[int]] = {m: set() for m in wc_of}
    """per machine, the lots whose next operation may use it"""
    version = [0] * len(lots)
    heap: list[tuple[tuple[float, ...], int, int, str, int]] = []
    started_next: list[int] = []

    def option(k: int, machine: str, minutes: int) -> tuple[tuple[float, ...], int] | None:
        setup = problem.setup(family[machine], lots[k].family)
        begin = shifts[machine].earliest(max(free_at[machine], ready[k] - setup), setup + minutes)
        if begin is None:
            return None
        start = begin + setup  # begin >= ready - setup: the lot is there when the run starts
        return rule(lots[k], next_op[k], start + minutes), start

    def offer(k: int) -> None:
        """Put lot ``k``'s best option on the heap; older entries of the lot become stale."""
        version[k] += 1
        best: tuple[tuple[float, ...], str, int] | None = None
        for machine, found in options[k].items():
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], machine, found[1])
        if best is not None:
            heapq.heappush(heap, (best[0], k, version[k], best[1], best[2]))

    def arrive(k: int) -> None:
        """Lot ``k`` has a new next operation: work out all its options."""
        op = lots[k].operations[next_op[k]]
        if op.id in fixed:
            heapq.heappush(started_next, k)
            return
        options[k] = {machine: option(k, machine, minutes) for machine, minutes in table[op.id].items()}
        for machine in options[k]:
            waiting[machine].add(k)
        offer(k)

    for k in range(len(lots)):
        arrive(k)
    placements: dict[str, Placement] = {}
    left = len(lots)
    while left:
        if started_next:
            k = heapq.heappop(started_next)
            op = lots[k].operations[next_op[k]]
            machine, start = fixed[op.id].machine_id, fixed[op.id].start
        else:
            while heap and heap[0][2] != version[heap[0][1]]:
                heapq.heappop(heap)
            if not heap:
                return None
            _, k, _, machine, start = heapq.heappop(heap)
            version[k] += 1
            op = lots[k].operations[next_op[k]]
            for other in options[k]:
                waiting[other].discard(k)
        placements[op.id] = (machine, start)
        end = start + table[op.id][machine]
        ready[k] = max(ready[k], end)
        next_op[k] += 1
        if op.id not in fixed:  # a machine's state after its started work was set above, in time order
            free_at[machine] = max(free_at[machine], end)
            family[machine] = lots[k].family
            for j in waiting[machine]:
                options[j][machine] = option(j, machine, table[lots[j].operations[next_op[j]].id][machine])
                offer(j)
        if next_op[k] < len(lots[k].operations):
            arrive(k)
        else:
            left -= 1
    return placements
