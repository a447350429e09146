"""Deterministic solves: a limit counted in CP-SAT's deterministic time gives the same schedule however loaded
the machine is, which is what lets the digital twin replay a seed to the same KPIs."""

from __future__ import annotations

import random
import time

from ortools.sat.python import cp_model

from meshfab.engines.scheduling import LinePart, Lot, Mode, Operation, ScheduleProblem, SolveStatus, Workcenter, solve
from meshfab.engines.scheduling.solver import DET_PER_SECOND, WALL_SAFETY, _Budget
from tests.helpers import busy_machine


def busy_factory(seed: int = 5, lots: int = 12) -> ScheduleProblem:
    """Lots with changeovers and due times that CP-SAT keeps improving on for more than a second: on the clock,
    a loaded machine stops it at another schedule (two runs in three differed when this test was written)."""
    rng = random.Random(seed)
    workcenters = (Workcenter("cut", "cut", count=2), Workcenter("print", "print"), Workcenter("sew", "sew", count=2))
    calendar = tuple((day * 1440 + 480, day * 1440 + 960) for day in range(30))
    return ScheduleProblem(
        workcenters,
        tuple(
            Lot(
                id=f"L{i}",
                family=rng.choice("ABCD"),
                release=0,
                operations=(
                    Operation(f"L{i}/cut", (Mode("cut", rng.randint(10, 60)),)),
                    Operation(f"L{i}/print", (Mode("print", rng.randint(20, 90)),)),
                    Operation(f"L{i}/sew", (Mode("sew", rng.randint(20, 120)),)),
                ),
                lines=(LinePart(f"l{i}", 5, rng.randint(600, 6000), rng.randint(1, 3)),),
            )
            for i in range(lots)
        ),
        calendar=calendar,
        setup_times={(a, b): 20 for a in "ABCD" for b in "ABCD" if a != b},
    )


def test_a_deterministic_solve_gives_one_schedule_under_any_load() -> None:
    problem = busy_factory()
    quiet = solve(problem, time_limit=1.0, seed=3, deterministic=True)
    assert quiet.status == SolveStatus.FEASIBLE  # stopped by its limit, not by a proof: the case that matters
    with busy_machine():
        loaded = solve(problem, time_limit=1.0, seed=3, deterministic=True)
    assert loaded.timelines == quiet.timelines
    assert loaded.objective == quiet.objective


def test_a_deterministic_budget_ignores_the_clock_and_counts_solver_work() -> None:
    budget = _Budget(1.0, deterministic=True)
    time.sleep(0.05)
    assert budget.left() == 1.0
    solver = cp_model.CpSolver()
    budget.limit(solver, 0.4)
    assert solver.parameters.max_deterministic_time == DET_PER_SECOND * 0.4
    assert solver.parameters.max_time_in_seconds == WALL_SAFETY * 0.4  # the clock only stops a run-away
    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    model.maximize(x)
    solver.solve(model)
    budget.charge(solver)
    assert budget.left() == 1.0 - solver.response_proto.deterministic_time / DET_PER_SECOND
    budget.deadline(0.2)  # a phase with fixed work (the tabu search) is charged its share
    assert budget.left() < 0.8


def test_a_wall_clock_budget_runs_down_with_time() -> None:
    budget = _Budget(1.0, deterministic=False)
    time.sleep(0.05)
    assert budget.left() <= 0.95
    solver = cp_model.CpSolver()
    budget.limit(solver, 0.4)
    assert solver.parameters.max_time_in_seconds == 0.4
    assert solver.parameters.max_deterministic_time > 1e6  # CP-SAT's default: no deterministic limit
