"""Job shop benchmark (ft, la01–la40, ta01–ta20): makespan of meshfab's scheduling engine vs PyJobShop.

A job shop is the engine's model with one machine per workcenter, one mode per operation, one lot per job,
no changeovers, no calendar and no due times: each instance is translated into a ``ScheduleProblem`` and
handed to the very ``solve`` the factory service calls. The baseline is PyJobShop with its OR-Tools back
end, same time limit and workers, in the same process.

    python benchmarks/jssp.py [PATH ...] [--time-limit S] [--workers N] [--json FILE]
"""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import pyjobshop

import benchtools
from meshfab.engines.scheduling import Lot, Mode, Operation, ScheduleProblem, Workcenter, solve

Job = list[list[tuple[int, int]]]
"""Per job, its operations in order; per operation its alternatives (machine index, duration)."""


def read_jssp(path: Path) -> tuple[int, list[Job]]:
    """OR-Library layout: ``n m`` then per job ``m`` pairs ``machine duration`` (``#`` lines are comments)."""
    text = path.read_text().splitlines()
    rows = [line.split() for line in text if line.strip() and not line.startswith("#")]
    n, m = int(rows[0][0]), int(rows[0][1])
    jobs: list[Job] = []
    for row in rows[1 : n + 1]:
        values = [int(v) for v in row]
        jobs.append([[(values[k], values[k + 1])] for k in range(0, 2 * m, 2)])
    return m, jobs


def to_problem(machines: int, jobs: list[Job]) -> ScheduleProblem:
    """Workcenter ``M<k>`` per machine, lot ``J<j>`` per job, operation ``J<j>/<o>`` per step."""
    workcenters = tuple(Workcenter(id=f"M{k}", capability=f"M{k}") for k in range(machines))
    lots = tuple(
        Lot(
            id=f"J{j}",
            family="job",
            operations=tuple(
                Operation(id=f"J{j}/{o}", modes=tuple(Mode(f"M{k}", d) for k, d in alternatives))
                for o, alternatives in enumerate(job)
            ),
        )
        for j, job in enumerate(jobs)
    )
    return ScheduleProblem(workcenters=workcenters, lots=lots)


def solve_meshfab(machines: int, jobs: list[Job], time_limit: float, workers: int) -> tuple[int | None, float]:
    began = time.perf_counter()
    result = solve(to_problem(machines, jobs), time_limit=time_limit, workers=workers)
    seconds = time.perf_counter() - began
    return (result.objective.makespan if result.objective else None), seconds


def solve_pyjobshop(machines: int, jobs: list[Job], time_limit: float, workers: int) -> tuple[int | None, float]:
    model = pyjobshop.Model()
    resources = [model.add_machine() for _ in range(machines)]
    for job in jobs:
        owner = model.add_job()
        tasks = []
        for alternatives in job:
            task = model.add_task(job=owner)
            for k, duration in alternatives:
                model.add_mode(task, resources[k], duration)
            tasks.append(task)
        for before, after in pairwise(tasks):
            model.add_end_before_start(before, after)
    model.set_objective(weight_makespan=1)
    began = time.perf_counter()
    result = model.solve(time_limit=time_limit, display=False, num_workers=workers)
    seconds = time.perf_counter() - began
    feasible = result.status.value in ("Optimal", "Feasible")
    return (round(result.objective) if feasible else None), seconds


def main() -> None:
    benchtools.run(
        "jssp",
        __doc__ or "",
        ours=lambda path, limit, workers: solve_meshfab(*read_jssp(path), limit, workers),
        baseline=lambda path, limit, workers: solve_pyjobshop(*read_jssp(path), limit, workers),
        baseline_name="PyJobShop",
    )


if __name__ == "__main__":
    main()
