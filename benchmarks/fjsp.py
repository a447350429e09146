"""Flexible job shop benchmark (Brandimarte mk01–mk05): makespan of meshfab's engine vs PyJobShop.

A flexible job shop is the engine's model with alternative modes per operation (each naming one machine,
with its own duration); translated by the job shop benchmark's ``to_problem`` and solved by the same
``solve`` the factory service calls. Baseline: PyJobShop (OR-Tools back end), same limits, same process.

    python benchmarks/fjsp.py [PATH ...] [--time-limit S] [--workers N] [--json FILE]
"""

from __future__ import annotations

from pathlib import Path

import benchtools
from jssp import Job, solve_meshfab, solve_pyjobshop


def read_fjsp(path: Path) -> tuple[int, list[Job]]:
    """FJSPLIB: ``jobs machines avg``, then per job ``k`` operations, each ``c`` then c pairs (1-based)."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header = lines[0].split()
    n, machines = int(header[0]), int(header[1])
    tokens = [int(t) for line in lines[1:] for t in line.split()]
    jobs: list[Job] = []
    at = 0
    for _ in range(n):
        operations = tokens[at]
        at += 1
        job: Job = []
        for _ in range(operations):
            count = tokens[at]
            at += 1
            job.append([(tokens[at + 2 * a] - 1, tokens[at + 2 * a + 1]) for a in range(count)])
            at += 2 * count
        jobs.append(job)
    return machines, jobs


def main() -> None:
    benchtools.run(
        "fjsp",
        __doc__ or "",
        ours=lambda path, limit, workers: solve_meshfab(*read_fjsp(path), limit, workers),
        baseline=lambda path, limit, workers: solve_pyjobshop(*read_fjsp(path), limit, workers),
        baseline_name="PyJobShop",
    )


if __name__ == "__main__":
    main()
