"""``solve``: the one entry point of the factory scheduling engine (the service and the benchmarks call it).

The objective is lexicographic, solved in two stages rather than as one weighted sum whose huge coefficients
would blunt CP-SAT's bounds: stage 1 minimises weighted tardiness (skipped when no line has a due time);
stage 2 keeps tardiness at most stage 1's value and minimises changeover minutes, then makespan. Stage 1
gets half of the time limit at most and hands its schedule to stage 2 as a hint, so stage 2 starts from it.
If stage 1 finds no schedule in its half, stage 2 still runs (without the tardiness cap) so that the factory
gets a schedule; the status is then ``FEASIBLE`` at best.

Rolling horizon: with changeovers, each machine's sequence is a circuit over every pair of operations it
may run, so the model grows with the square of the backlog (a factory with a few hundred lots waiting would
spend minutes building it). When the pairs exceed the budget (``ARC_BUDGET``, less for short time limits),
CP-SAT gets the lots that matter first — those with started work, then by earliest due time and release —
up to the budget; the rest are appended after them by the dispatch rules. The near-term sequence is what
the shop floor runs next, and the tail is scheduled again on every later run as it moves forward. No bound
is claimed for such a schedule.

Job shops (every machine its own workcenter, one mode per operation, no changeovers, calendars, due times,
releases or started work: :func:`.tabu.job_shop`): CP-SAT first gets a short probe (``PROBE_SHARE``), in
which it proves the small ones optimal; otherwise a tabu search on the disjunctive graph (:mod:`.tabu`)
improves the best schedule so far for ``TABU_SHARE`` of the limit, and CP-SAT continues from it as the
hint for the rest, so its neighbourhoods and its lower bound still work. CP-SAT alone stalls on square
job shops where the tabu search keeps improving (measured on Taillard's instances). The tabu schedule is a
floor: it is returned when CP-SAT does not beat it.

First hint: the previous schedule when given (warm start), else a quick dispatch schedule (:mod:`.heuristic`).
Warm start: the previous schedule hints every variable. Because hints are advice, the previous schedule is
also re-evaluated against the new problem, and when it is still feasible and better than what the solver
found, it is returned: a warm start never makes the objective worse. The dispatch schedule is a floor in
the same way, and the answer when CP-SAT finds nothing in time. A result says whether the search beat the
schedule it started from (``improved``), and ``quick`` returns that starting schedule without a search: a
caller that sees a factory's searches fail to help can stop paying for them.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from .evaluate import Placement, build_result, durations, violations
from .heuristic import dispatch
from .model import ScheduleModel
from .problem import Lot, ScheduleProblem, Started
from .result import Objective, ScheduleResult, SolveStatus
from .tabu import JobShop, improve, job_shop

_IDLE_ON_SCHEDULES = ("feasibility_pump", "rins/rens", "ls", "graph_arc_lns", "graph_cst_lns", "graph_dec_lns")
"""CP-SAT helpers left out: LP-driven and generic-graph neighbourhoods rarely improve a disjunctive schedule,
and with few workers all helpers share one thread, so dropping them leaves more of it to the scheduling
neighbourhoods (measured on la/ta job shops with 2 workers: equal or slightly better)."""

ARC_BUDGET = 100_000
"""Machine-sequence pairs (operation pairs that may share a machine) one CP-SAT model holds at most ..."""
ARCS_PER_SECOND = 20_000
"""... and per second of time limit (at least a quarter of a second's worth): measured with changeovers on
two machines, a 0.5 s solve stops improving on the dispatch schedule past about 10,000 pairs."""

PROBE_SHARE = 0.1
"""Share of the limit CP-SAT gets first on a job shop: small ones are proven optimal in it, and then no
tabu search runs."""
TABU_SHARE = 0.4
"""Share of the limit the tabu search gets on a job shop CP-SAT has not proven in its probe ..."""
TABU_RATE = 90_000_000
"""... as iterations: this many operation-iterations per second (one iteration costs time linear in the
operations; measured about 110 million per second on the development machine), so a seed gives one schedule
whatever the machine's speed; the clock only stops a search that runs far over its share."""

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}

DET_PER_SECOND = 0.15
"""With ``deterministic``: CP-SAT deterministic time budgeted per second of time limit, about what CP-SAT does
in a second here (0.16 to 0.17 on the twin's factory schedules on the development machine), so a limit still
means roughly its seconds ..."""
WALL_SAFETY = 10.0
"""... and the wall clock then stops a run only this many times over its share: a run-away, never a normal run,
so that the clock (and the machine's load) does not decide the schedule."""


@dataclass
class _Budget:
    """What a solve may still spend, and how it is counted.

    By default the wall clock counts. With ``deterministic``, CP-SAT's deterministic time counts instead and
    the tabu search is charged its share (its iterations are fixed already), so one problem and seed give one
    schedule on any machine under any load: a run that replays the same demand (the digital twin) must reach
    the same KPIs, which wall-clock limits do not allow once solves stop on them."""

    seconds: float
    deterministic: bool
    began: float = field(default_factory=time.perf_counter)
    charged: float = 0.0

    def left(self) -> float:
        if self.deterministic:
            return self.seconds - self.charged
        return self.seconds - (time.perf_counter() - self.began)

    def limit(self, solver: cp_model.CpSolver, seconds: float) -> None:
        seconds = max(0.05, seconds)
        if self.deterministic:
            solver.parameters.max_deterministic_time = DET_PER_SECOND * seconds
            solver.parameters.max_time_in_seconds = WALL_SAFETY * seconds
        else:
            solver.parameters.max_time_in_seconds = seconds

    def charge(self, solver: cp_model.CpSolver) -> None:
        self.charged += solver.response_proto.deterministic_time / DET_PER_SECOND

    def deadline(self, share: float) -> float:
        """The wall-clock stop of a phase that has ``share`` seconds; charged at once when deterministic."""
        if self.deterministic:
            self.charged += share
            return time.perf_counter() + WALL_SAFETY * share
        return min(self.began + self.seconds - 0.1, time.perf_counter() + 1.5 * share)


def solve(
    problem: ScheduleProblem,
    *,
    time_limit: float = 10.0,
    seed: int = 0,
    workers: int = 1,
    warm_start: ScheduleResult | None = None,
    deterministic: bool = False,
) -> ScheduleResult:
    """Schedule ``problem`` within ``time_limit`` seconds; ``seed`` and ``workers`` go to CP-SAT.

    ``deterministic`` (with one worker): the seconds are counted in CP-SAT's deterministic time, not on the
    clock, so the same call gives the same schedule however loaded the machine is (see `_Budget`)."""
    head = _head(problem, min(ARC_BUDGET, max(ARCS_PER_SECOND // 4, round(ARCS_PER_SECOND * time_limit))))
    if head is not None:
        return _rolling(
            problem,
            head,
            time_limit=time_limit,
            seed=seed,
            workers=workers,
            warm_start=warm_start,
            deterministic=deterministic,
        )
    budget = _Budget(time_limit, deterministic)
    began = budget.began
    model = ScheduleModel(problem)
    previous = _warm_placements(problem, warm_start)
    quick = dispatch(problem)
    if quick is not None and violations(problem, quick):
        quick = None  # never hand out an unsound schedule; CP-SAT still runs
    if previous is not None:
        _hint(model, previous)
    elif quick is not None:
        _hint(model, {op_id: (op.machine_id, op.start) for op_id, op in quick.operations().items()})

    def run(limit: float) -> tuple[SolveStatus, cp_model.CpSolver]:
        solver = cp_model.CpSolver()
        budget.limit(solver, limit)
        solver.parameters.random_seed = seed
        solver.parameters.num_workers = max(1, workers)
        solver.parameters.ignore_subsolvers.extend(_IDLE_ON_SCHEDULES)
        code = solver.solve(model.model)
        budget.charge(solver)
        if code == cp_model.MODEL_INVALID:
            raise RuntimeError(f"scheduling model invalid: {model.model.validate()}")
        return _STATUS[code], solver

    tardiness_bound = 0
    proven = True
    if model.tardiness:
        model.model.minimize(model.weighted_tardiness())
        status, solver = run(time_limit / 2)
        if status == SolveStatus.INFEASIBLE:
            return _without_schedule(problem, status, began, "no schedule meets calendars and started work")
        tardiness_bound = max(0, math.ceil(solver.best_objective_bound - 1e-6))
        proven = status == SolveStatus.OPTIMAL
        if status.has_schedule:
            model.model.add(model.weighted_tardiness() <= round(solver.objective_value))
            _hint(model, model.placements(solver))
    weight = model.horizon + 1 if model.with_setups else 0
    model.model.minimize(weight * model.setup_minutes() + model.makespan)
    shop = None if model.tardiness else job_shop(problem)
    searched: ScheduleResult | None = None
    probe_bound = 0
    if shop is not None:
        status, solver = run(PROBE_SHARE * time_limit)
        if status not in (SolveStatus.OPTIMAL, SolveStatus.INFEASIBLE):
            if status.has_schedule:
                probe_bound = max(0, math.ceil(solver.best_objective_bound - 1e-6))
            start = _best(
                _fallback(problem, previous, began),
                quick,
                build_result(problem, model.placements(solver), status=SolveStatus.FEASIBLE)
                if status.has_schedule
                else None,
            )
            if start is not None:
                searched = _tabu_stage(
                    problem, shop, start, time_limit=time_limit, seed=seed, workers=workers, budget=budget
                )
                _hint(model, {op_id: (op.machine_id, op.start) for op_id, op in searched.operations().items()})
                status, solver = run(budget.left())
    else:
        status, solver = run(budget.left())
    held = _fallback(problem, previous, began)
    start = _best(held, quick)
    if status == SolveStatus.UNKNOWN:
        fallback = _best(_timed(held, began), _timed(quick, began), _timed(searched, began))
        return _judged(fallback, start) if fallback else _without_schedule(problem, status, began, _why(status))
    if not status.has_schedule:
        return _without_schedule(problem, status, began, _why(status))
    placements = model.placements(solver)
    raw_bound = math.ceil(solver.best_objective_bound - 1e-6)
    result = build_result(problem, placements, status=SolveStatus.FEASIBLE)
    assert result.objective is not None
    setup_bound = raw_bound // weight if weight else 0
    makespan_bound = max(probe_bound, raw_bound - weight * result.objective.setup_minutes)
    bound = Objective(tardiness_bound, setup_bound, makespan_bound)
    final = SolveStatus.OPTIMAL if proven and status == SolveStatus.OPTIMAL else SolveStatus.FEASIBLE
    result = build_result(problem, placements, status=final, bound=bound, seconds=time.perf_counter() - began)
    kept = _best(_timed(held, began, bound), _timed(quick, began, bound), _timed(searched, began, bound))
    if kept is not None and kept.objective is not None and kept.objective < result.objective:
        return _judged(kept, start)
    return _judged(result, start)


def quick(problem: ScheduleProblem, *, warm_start: ScheduleResult | None = None) -> ScheduleResult:
    """What a search would start from, without the search: the previous schedule when it still holds and is no
    worse, else the dispatch schedule. For callers that ration CP-SAT: on the twin's factories a short search
    returns its starting schedule most of the time, and skipping it costs milliseconds instead of its limit.
    Status ``UNKNOWN`` (no schedule) when no dispatch schedule fits the calendars and nothing earlier holds: only
    a search can tell then."""
    began = time.perf_counter()
    dispatched = dispatch(problem)
    if dispatched is not None and violations(problem, dispatched):
        dispatched = None
    found = _best(_fallback(problem, _warm_placements(problem, warm_start), began), _timed(dispatched, began))
    return found or _without_schedule(problem, SolveStatus.UNKNOWN, began, "no dispatch schedule fits the calendars")


def _judged(final: ScheduleResult, start: ScheduleResult | None) -> ScheduleResult:
    """``final`` marked improved when it beats the schedule the search started from (or there was none)."""
    better = final.objective is not None and (
        start is None or start.objective is None or final.objective < start.objective
    )
    return replace(final, improved=better)


def _tabu_stage(
    problem: ScheduleProblem,
    shop: JobShop,
    start: ScheduleResult,
    *,
    time_limit: float,
    seed: int,
    workers: int,
    budget: _Budget,
) -> ScheduleResult:
    """The best schedule of ``workers`` tabu searches from ``start`` (seeds ``seed``, ``seed + 1``, …).

    Each search gets the same fixed number of iterations; they run side by side in threads (the kernel
    releases the GIL), so the workers CP-SAT would use are busy and each seed still gives one answer.
    Searches from one start with other seeds end far apart on hard shops; the best of them is kept.
    """
    share = TABU_SHARE * time_limit
    iterations = round(share * TABU_RATE / len(shop.op_ids))
    placements = {op_id: (op.machine_id, op.start) for op_id, op in start.operations().items()}
    deadline = budget.deadline(share)

    def search(k: int) -> dict[str, Placement]:
        return improve(shop, placements, iterations=iterations, seed=seed + k, deadline=deadline)[0]

    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(search, range(workers)))
    else:
        found = [search(0)]
    results = [build_result(problem, f, status=SolveStatus.FEASIBLE, message="tabu search schedule") for f in found]
    best = _best(*results)
    assert best is not None
    return best


def _head(problem: ScheduleProblem, budget: int) -> tuple[Lot, ...] | None:
    """The lots CP-SAT should sequence when the whole backlog is over the arc budget, else ``None``."""
    families = {lot.family for lot in problem.lots} | {wc.initial_family for wc in problem.workcenters}
    if not any(problem.setup(a, b) > 0 for a in families if a is not None for b in families if b is not None):
        return None  # no changeovers, no circuits: the model grows linearly
    table = durations(problem)

    def arcs(lots: list[Lot]) -> int:
        per_machine: dict[str, int] = {}
        for lot in lots:
            for op in lot.operations:
                for machine in table[op.id]:
                    per_machine[machine] = per_machine.get(machine, 0) + 1
        return sum(n * n for n in per_machine.values())

    if arcs(list(problem.lots)) <= budget:
        return None
    started = {s.operation_id for s in problem.started}

    def urgency(lot: Lot) -> tuple[int, float, int, str]:
        running = any(op.id in started for op in lot.operations)
        dues = [part.due for part in lot.lines if part.due is not None]
        return (0 if running else 1, min(dues) if dues else math.inf, lot.release, lot.id)

    ordered = sorted(problem.lots, key=urgency)
    head = [lot for lot in ordered if urgency(lot)[0] == 0]
    for lot in ordered[len(head) :]:
        if head and arcs([*head, lot]) > budget:
            break
        head.append(lot)
    return tuple(head) if len(head) < len(problem.lots) else None


def _rolling(
    problem: ScheduleProblem,
    head: tuple[Lot, ...],
    *,
    time_limit: float,
    seed: int,
    workers: int,
    warm_start: ScheduleResult | None,
    deterministic: bool,
) -> ScheduleResult:
    """CP-SAT for the head lots, then the others dispatched after them (see the module docstring)."""
    began = time.perf_counter()
    head_ids = {op.id for lot in head for op in lot.operations}
    near = replace(problem, lots=head, started=tuple(s for s in problem.started if s.operation_id in head_ids))
    first = solve(
        near, time_limit=time_limit, seed=seed, workers=workers, warm_start=warm_start, deterministic=deterministic
    )
    if not first.status.has_schedule:
        return replace(first, seconds=time.perf_counter() - began)
    fixed = tuple(Started(op_id, op.machine_id, op.start) for op_id, op in first.operations().items())
    tail = dispatch(replace(problem, started=(*fixed, *(s for s in problem.started if s.operation_id not in head_ids))))
    if tail is None:
        return _without_schedule(problem, SolveStatus.UNKNOWN, began, "the lots after the horizon fit no shift")
    placements = {op_id: (op.machine_id, op.start) for op_id, op in tail.operations().items()}
    result = build_result(
        problem,
        placements,
        status=SolveStatus.FEASIBLE,
        seconds=time.perf_counter() - began,
        message=f"rolling horizon: CP-SAT sequenced {len(head)} of {len(problem.lots)} lots, the rest dispatched",
    )
    kept = _fallback(problem, _warm_placements(problem, warm_start), began)
    best = _best(result, kept) or result
    return replace(best, improved=best is result and first.improved)


def _timed(result: ScheduleResult | None, began: float, bound: Objective | None = None) -> ScheduleResult | None:
    if result is None:
        return None
    return replace(result, seconds=time.perf_counter() - began, bound=bound)


def _best(*results: ScheduleResult | None) -> ScheduleResult | None:
    """The schedule with the smallest objective among those given."""
    best: ScheduleResult | None = None
    for r in results:
        if (
            r is not None
            and r.objective is not None
            and (best is None or best.objective is None or r.objective < best.objective)
        ):
            best = r
    return best


def _hint(model: ScheduleModel, placements: dict[str, Placement]) -> None:
    """Full hint when the placements cover every operation, else start and machine of those given."""
    if set(placements) == set(model.start):
        model.hint(placements)
        return
    model.model.clear_hints()
    for op_id, (machine, start) in placements.items():
        if op_id in model.start and (op_id, machine) in model.present:
            model.model.add_hint(model.start[op_id], start)
            model.model.add_hint(model.present[op_id, machine], True)


def _warm_placements(problem: ScheduleProblem, warm: ScheduleResult | None) -> dict[str, Placement] | None:
    """The previous schedule restricted to this problem's operations; started work as it really is."""
    if warm is None or not warm.status.has_schedule:
        return None
    ops = {op.id for lot in problem.lots for op in lot.operations}
    placements = {op_id: (p.machine_id, p.start) for op_id, p in warm.operations().items() if op_id in ops}
    for s in problem.started:
        placements[s.operation_id] = (s.machine_id, s.start)
    return placements


def _fallback(
    problem: ScheduleProblem, previous: dict[str, Placement] | None, began: float, bound: Objective | None = None
) -> ScheduleResult | None:
    """The previous schedule re-read against this problem, when it is complete and still valid."""
    if previous is None or set(previous) != {op.id for lot in problem.lots for op in lot.operations}:
        return None
    try:
        kept = build_result(
            problem,
            previous,
            status=SolveStatus.FEASIBLE,
            bound=bound,
            seconds=time.perf_counter() - began,
            message="previous schedule kept",
        )
    except KeyError:  # a machine that no longer exists, or an operation moved to a machine it cannot use
        return None
    return None if violations(problem, kept) else kept


def _why(status: SolveStatus) -> str:
    if status == SolveStatus.INFEASIBLE:
        return "no schedule meets calendars, releases and started work"
    return "no schedule found within the time limit"


def _without_schedule(problem: ScheduleProblem, status: SolveStatus, began: float, message: str) -> ScheduleResult:
    return ScheduleResult(
        status=status,
        timelines={m: () for m in problem.workcenter_of()},
        seconds=time.perf_counter() - began,
        message=message,
    )
