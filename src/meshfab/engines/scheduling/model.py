"""The CP-SAT model of one factory's schedule: variables, constraints, objective terms, hints.

Solver indices and variables stay in here; the rest of the engine speaks string ids.

Variables — per operation a start and an end; per (operation, machine it may use) a presence literal and an
optional interval. When changeovers exist, the interval also covers the changeover in front of the operation
(``[start - setup, end)``), so the changeover, too, takes machine time inside a shift.
Constraints — exactly one machine per operation; lot order; releases; started operations fixed; per machine a
no-overlap over its intervals and its breaks (closed calendar time); when changeovers exist, a circuit per
machine chooses the sequence and the changeover of each operation follows from its predecessor's family.
Objective terms — weighted tardiness per line (line completion = end of the last lot holding it), changeover
minutes, makespan.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from ortools.sat.python import cp_model

from .calendar import breaks, without
from .evaluate import Placement, build_result, durations
from .problem import ScheduleProblem
from .result import SolveStatus


class ScheduleModel:
    def __init__(self, problem: ScheduleProblem) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.durations = durations(problem)
        self.fixed = {s.operation_id: s for s in problem.started}
        self.lot_of = {op.id: lot for lot in problem.lots for op in lot.operations}
        running = [s.start + self.durations[s.operation_id][s.machine_id] for s in problem.started]
        self.horizon = max([problem.default_horizon(), *running])
        self.origin = min([0, *(s.start for s in problem.started)])
        self.families = {lot.family for lot in problem.lots} | {
            wc.initial_family for wc in problem.workcenters if wc.initial_family is not None
        }
        self.with_setups = any(problem.setup(a, b) > 0 for a in self.families for b in self.families)
        self.start: dict[str, cp_model.IntVar] = {}
        self.end: dict[str, cp_model.IntVar] = {}
        self.present: dict[tuple[str, str], cp_model.IntVar] = {}
        self.setup: dict[tuple[str, str], cp_model.IntVar] = {}
        self.arcs: dict[str, dict[tuple[str, str], cp_model.IntVar]] = {}
        self.machine_ops: dict[str, list[str]] = {m: [] for m in problem.workcenter_of()}
        self._variables()
        self._constraints()
        self.tardiness, self.weights = self._tardiness()
        self.makespan = self._makespan()

    # -- variables -------------------------------------------------------------------------------
    def _variables(self) -> None:
        m, horizon = self.model, self.horizon
        for lot in self.problem.lots:
            for op in lot.operations:
                fixed = self.fixed.get(op.id)
                low = fixed.start if fixed else max(0, lot.release)
                high = fixed.start if fixed else horizon
                self.start[op.id] = m.new_int_var(low, high, f"start[{op.id}]")
                self.end[op.id] = m.new_int_var(low, horizon, f"end[{op.id}]")
                options = self.durations[op.id]
                if fixed:
                    options = {fixed.machine_id: options[fixed.machine_id]}
                for machine in options:
                    self.machine_ops[machine].append(op.id)

    def _interval(self, op_id: str, machine: str, lit: cp_model.IntVar) -> cp_model.IntervalVar:
        m, start, end = self.model, self.start[op_id], self.end[op_id]
        duration = self.durations[op_id][machine]
        if not self.with_setups or op_id in self.fixed:
            return m.new_optional_interval_var(start, duration, end, lit, f"iv[{op_id},{machine}]")
        family = self.lot_of[op_id].family
        most = max(self.problem.setup(before, family) for before in self.families)
        setup = m.new_int_var(0, most, f"setup[{op_id},{machine}]")
        m.add(setup == 0).only_enforce_if(~lit)
        self.setup[op_id, machine] = setup
        begin = m.new_int_var(0, self.horizon, f"begin[{op_id},{machine}]")
        m.add(begin == start - setup).only_enforce_if(lit)
        return m.new_optional_interval_var(begin, setup + duration, end, lit, f"iv[{op_id},{machine}]")

    # -- constraints -----------------------------------------------------------------------------
    def _constraints(self) -> None:
        m = self.model
        intervals: dict[str, list[cp_model.IntervalVar]] = {machine: [] for machine in self.machine_ops}
        for machine, op_ids in self.machine_ops.items():
            for op_id in op_ids:
                lit = m.new_bool_var(f"on[{op_id},{machine}]")
                self.present[op_id, machine] = lit
                intervals[machine].append(self._interval(op_id, machine, lit))
        choices: dict[str, list[cp_model.IntVar]] = {op_id: [] for op_id in self.start}
        for (op_id, _), lit in self.present.items():
            choices[op_id].append(lit)
        for lits in choices.values():
            if not lits:
                m.add_bool_or([])  # no machine can run it: the problem is infeasible
                continue
            m.add_exactly_one(lits)
            if len(lits) == 1:
                m.add(lits[0] == 1)
        for lot in self.problem.lots:
            for before, after in zip(lot.operations, lot.operations[1:], strict=False):
                if after.id not in self.fixed:
                    m.add(self.start[after.id] >= self.end[before.id])
        wc_of = self.problem.workcenter_of()
        for machine, ivs in intervals.items():
            calendar = self.problem.calendar_of(wc_of[machine])
            running = [
                (s.start, s.start + self.durations[s.operation_id][machine])
                for s in self.fixed.values()
                if s.machine_id == machine
            ]
            for a, b in without(breaks(calendar, self.origin, self.horizon), running):
                ivs.append(m.new_fixed_size_interval_var(a, b - a, f"break[{machine},{a}]"))
            if len(ivs) > 1:
                m.add_no_overlap(ivs)
            if self.with_setups:
                self._sequence(machine, wc_of[machine].initial_family)

    def _sequence(self, machine: str, initial: str | None) -> None:
        """Circuit over the machine's operations; the changeover of each follows from its predecessor."""
        m, op_ids = self.model, self.machine_ops[machine]
        if not op_ids:
            return
        arcs: list[tuple[int, int, cp_model.IntVar]] = []
        literals: dict[tuple[str, str], cp_model.IntVar] = {}
        idle = m.new_bool_var(f"idle[{machine}]")  # a machine may get none of its candidate operations
        arcs.append((0, 0, idle))
        for i, op_id in enumerate(op_ids, start=1):
            lit = self.present[op_id, machine]
            arcs.append((i, i, ~lit))
            first = m.new_bool_var(f"first[{machine},{op_id}]")
            last = m.new_bool_var(f"last[{machine},{op_id}]")
            arcs += [(0, i, first), (i, 0, last)]
            literals["", op_id] = first
            literals[op_id, ""] = last
            if (op_id, machine) in self.setup:
                family = self.lot_of[op_id].family
                change = self.problem.setup(initial, family)
                m.add(self.setup[op_id, machine] == change).only_enforce_if(first)
        for i, a in enumerate(op_ids, start=1):
            for j, b in enumerate(op_ids, start=1):
                if a == b:
                    continue
                lit = m.new_bool_var(f"next[{machine},{a},{b}]")
                arcs.append((i, j, lit))
                literals[a, b] = lit
                if (b, machine) in self.setup:
                    change = self.problem.setup(self.lot_of[a].family, self.lot_of[b].family)
                    m.add(self.setup[b, machine] == change).only_enforce_if(lit)
                    m.add(self.start[b] - self.setup[b, machine] >= self.end[a]).only_enforce_if(lit)
                else:
                    m.add(self.start[b] >= self.end[a]).only_enforce_if(lit)
        m.add_circuit(arcs)
        self.arcs[machine] = literals

    # -- objective terms -------------------------------------------------------------------------
    def _tardiness(self) -> tuple[dict[str, cp_model.IntVar], dict[str, int]]:
        m = self.model
        due: dict[str, int] = {}
        weight: dict[str, int] = {}
        lots_of: dict[str, list[str]] = {}
        for lot in self.problem.lots:
            for part in lot.lines:
                lots_of.setdefault(part.line_id, []).append(lot.operations[-1].id)
                if part.due is not None:
                    due[part.line_id] = min(part.due, due.get(part.line_id, part.due))
                weight[part.line_id] = max(part.weight, weight.get(part.line_id, 0))
        tardiness: dict[str, cp_model.IntVar] = {}
        for line_id, due_time in due.items():
            if weight[line_id] == 0:
                continue
            var = m.new_int_var(0, max(0, self.horizon - due_time), f"tardiness[{line_id}]")
            for last_op in lots_of[line_id]:
                m.add(var >= self.end[last_op] - due_time)
            tardiness[line_id] = var
        return tardiness, weight

    def _makespan(self) -> cp_model.IntVar:
        makespan = self.model.new_int_var(0, self.horizon, "makespan")
        for lot in self.problem.lots:
            self.model.add(makespan >= self.end[lot.operations[-1].id])
        return makespan

    def weighted_tardiness(self) -> cp_model.LinearExprT:
        return sum(self.weights[line] * var for line, var in self.tardiness.items())

    def setup_minutes(self) -> cp_model.LinearExprT:
        return sum(self.setup.values())

    # -- hints and answers -----------------------------------------------------------------------
    def hint(self, placements: Mapping[str, Placement]) -> None:
        """Hint every variable from a complete schedule, so CP-SAT starts from it (warm start)."""
        m = self.model
        m.clear_hints()
        result = build_result(self.problem, placements, status=SolveStatus.FEASIBLE)
        ops = result.operations()
        for op_id, op in ops.items():
            m.add_hint(self.start[op_id], op.start)
            m.add_hint(self.end[op_id], op.end)
        for (op_id, machine), lit in self.present.items():
            on = ops[op_id].machine_id == machine
            m.add_hint(lit, on)
            if (op_id, machine) in self.setup:
                m.add_hint(self.setup[op_id, machine], ops[op_id].setup if on else 0)
        for machine, literals in self.arcs.items():
            sequence = ["", *(op.operation_id for op in result.timelines[machine]), ""]
            chosen = set(pairwise(sequence)) if len(sequence) > 2 else set()
            for pair, lit in literals.items():
                m.add_hint(lit, pair in chosen)
        for line in result.lines:
            if line.line_id in self.tardiness:
                m.add_hint(self.tardiness[line.line_id], line.tardiness)
        m.add_hint(self.makespan, result.makespan)

    def placements(self, solver: cp_model.CpSolver) -> dict[str, Placement]:
        chosen: dict[str, Placement] = {}
        for (op_id, machine), lit in self.present.items():
            if solver.boolean_value(lit):
                chosen[op_id] = (machine, solver.value(self.start[op_id]))
        return chosen
