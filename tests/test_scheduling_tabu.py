"""Tabu search stage of the scheduling engine: sound schedules on job shops, the optimum of a classic
instance, one answer per seed, and ``solve`` never returning worse than the search found."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from meshfab.engines.scheduling import (
    LinePart,
    Lot,
    Mode,
    Operation,
    ScheduleProblem,
    ScheduleResult,
    SolveStatus,
    Workcenter,
    build_result,
    solve,
)
from meshfab.engines.scheduling import solver as solver_module
from meshfab.engines.scheduling.heuristic import dispatch
from meshfab.engines.scheduling.tabu import improve, job_shop

from .test_scheduling import assert_sound

DATA = Path(__file__).parent / "data"


def shop_problem(jobs: list[list[tuple[int, int]]], machines: int) -> ScheduleProblem:
    """One workcenter per machine, one lot per job, as the job-shop benchmark translates an instance."""
    workcenters = tuple(Workcenter(f"M{k}", f"M{k}") for k in range(machines))
    lots = tuple(
        Lot(
            id=f"J{j}",
            family="job",
            operations=tuple(Operation(f"J{j}/{o}", (Mode(f"M{k}", d),)) for o, (k, d) in enumerate(job)),
        )
        for j, job in enumerate(jobs)
    )
    return ScheduleProblem(workcenters, lots)


def random_shop(seed: int, jobs: int, machines: int) -> ScheduleProblem:
    rng = random.Random(seed)
    routes = [rng.sample(range(machines), machines) for _ in range(jobs)]
    return shop_problem([[(k, rng.randint(1, 99)) for k in route] for route in routes], machines)


def ft06() -> ScheduleProblem:
    rows = [r.split() for r in (DATA / "ft06.txt").read_text().splitlines() if not r.startswith("#")]
    n, m = map(int, rows[0])
    return shop_problem([[(int(r[k]), int(r[k + 1])) for k in range(0, 2 * m, 2)] for r in rows[1 : n + 1]], m)


def placements_of(result: ScheduleResult) -> dict[str, tuple[str, int]]:
    return {op_id: (op.machine_id, op.start) for op_id, op in result.operations().items()}


def searched(problem: ScheduleProblem, iterations: int, seed: int = 0) -> ScheduleResult:
    shop = job_shop(problem)
    start = dispatch(problem)
    assert shop is not None and start is not None
    found, _ = improve(shop, placements_of(start), iterations=iterations, seed=seed, deadline=float("inf"))
    return build_result(problem, found, status=SolveStatus.FEASIBLE)


@pytest.mark.parametrize("seed", range(5))
def test_tabu_schedules_of_random_job_shops_are_sound_and_no_worse_than_their_start(seed: int) -> None:
    problem = random_shop(seed, jobs=8 + seed, machines=5)
    result = searched(problem, iterations=3_000, seed=seed)
    assert_sound(problem, result)
    start = dispatch(problem)
    assert start is not None and start.objective is not None and result.objective is not None
    assert result.objective.makespan <= start.objective.makespan


def test_tabu_search_reaches_the_optimum_of_ft06() -> None:
    result = searched(ft06(), iterations=20_000)
    assert result.objective is not None and result.objective.makespan == 55


def test_one_seed_gives_one_schedule() -> None:
    problem = random_shop(3, jobs=10, machines=6)
    assert searched(problem, 5_000, seed=4).operations() == searched(problem, 5_000, seed=4).operations()


def test_only_pure_job_shops_get_the_tabu_search() -> None:
    base = random_shop(1, jobs=3, machines=2)
    assert job_shop(base) is not None
    due = tuple(Lot(lot.id, lot.family, lot.operations, lines=(LinePart(f"l{lot.id}", due=100),)) for lot in base.lots)
    assert job_shop(ScheduleProblem(base.workcenters, due)) is None
    assert job_shop(ScheduleProblem(base.workcenters, base.lots, calendar=((0, 1000),))) is None
    twins = tuple(Workcenter(wc.id, wc.capability, count=2) for wc in base.workcenters)
    assert job_shop(ScheduleProblem(twins, base.lots)) is None


def test_solve_never_returns_worse_than_its_tabu_search(monkeypatch: pytest.MonkeyPatch) -> None:
    found: list[ScheduleResult] = []
    stage = solver_module._tabu_stage

    def recorded(*args: object, **kwargs: object) -> ScheduleResult:
        result = stage(*args, **kwargs)  # type: ignore[arg-type]
        found.append(result)
        return result

    monkeypatch.setattr(solver_module, "_tabu_stage", recorded)
    problem = random_shop(5, jobs=10, machines=10)  # not proven optimal by CP-SAT's probe
    result = solve(problem, time_limit=0.5, seed=2, workers=1)
    assert_sound(problem, result)
    assert len(found) == 1 and found[0].objective is not None and result.objective is not None
    assert result.objective.makespan <= found[0].objective.makespan
    monkeypatch.setattr(solver_module, "job_shop", lambda _: None)
    without = solve(problem, time_limit=0.5, seed=2, workers=1)
    assert without.objective is not None
    assert result.objective.makespan <= without.objective.makespan
