"""Generalised assignment benchmark: the routing engine against published optima and a textbook CP-SAT model.

Each GAP instance becomes a :class:`RoutingProblem` (agents are factories with one capacity bucket, jobs are
lines whose minutes and shipping cost depend on the factory) and goes through the very ``solve`` the service
calls. The baseline is the textbook model (one Boolean per job and agent, exactly one agent per job, a knapsack
per agent) given the same time limit and workers, in the same process.

    python benchmarks/gap.py [PATH ...] [--time-limit S] [--workers N] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ortools.sat.python import cp_model
from rich.console import Console
from rich.table import Table

from meshfab.engines.routing import Factory, Lane, Line, RoutingProblem, Weights, solve

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "gap"


@dataclass(frozen=True)
class GapInstance:
    name: str
    cost: list[list[int]]  # agents x jobs
    load: list[list[int]]
    capacity: list[int]


def read_instance(path: Path) -> GapInstance:
    tokens = [int(x) for x in path.read_text().split()]
    m, n = tokens[0], tokens[1]
    pos = 2
    cost = [tokens[pos + i * n : pos + (i + 1) * n] for i in range(m)]
    pos += m * n
    load = [tokens[pos + i * n : pos + (i + 1) * n] for i in range(m)]
    pos += m * n
    return GapInstance(path.stem, cost, load, tokens[pos : pos + m])


def to_problem(inst: GapInstance) -> RoutingProblem:
    """Agents -> factories (one bucket on day 0), jobs -> lines; cost c[i][j] becomes the (factory, line) lane."""
    m, n = len(inst.capacity), len(inst.cost[0])
    factories = tuple(
        Factory(id=f"A{i}", region=f"A{i}", cost_per_minute={"work": 0.0}, capacity={("work", 0): inst.capacity[i]})
        for i in range(m)
    )
    lines = tuple(
        Line(
            id=f"J{j}",
            quantity=1,
            operations=(),
            ship_to="site",
            promised_day=0,
            minutes_by_factory={f"A{i}": {"work": inst.load[i][j]} for i in range(m)},
        )
        for j in range(n)
    )
    lanes = {(f"A{i}", f"J{j}"): Lane(f"A{i}", "site", 0, float(inst.cost[i][j])) for i in range(m) for j in range(n)}
    big = 10 * sum(max(col) for col in zip(*inst.cost, strict=True))
    weights = Weights(trust=0.0, move=0.0, reschedule=0.0, unassigned=float(big))
    return RoutingProblem(lines=lines, factories=factories, horizon_days=1, weights=weights, line_lanes=lanes)


def baseline(inst: GapInstance, time_limit: float, workers: int) -> float | None:
    """Textbook CP-SAT model of the GAP."""
    m, n = len(inst.capacity), len(inst.cost[0])
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{j}") for j in range(n)] for i in range(m)]
    for j in range(n):
        model.add_exactly_one(x[i][j] for i in range(m))
    for i in range(m):
        model.add(sum(inst.load[i][j] * x[i][j] for j in range(n)) <= inst.capacity[i])
    model.minimize(sum(inst.cost[i][j] * x[i][j] for i in range(m) for j in range(n)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    status = solver.solve(model)
    return solver.objective_value if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None


def instance_files(paths: list[Path]) -> list[tuple[Path, dict[str, float]]]:
    """Instance files with the best values of their folder's optima.csv."""
    out: list[tuple[Path, dict[str, float]]] = []
    for path in paths:
        files = sorted((path / "instances").glob("*.txt"), key=_natural) if path.is_dir() else [path]
        root = path if path.is_dir() else path.parent.parent
        best: dict[str, float] = {}
        optima = root / "optima.csv"
        if optima.exists():
            with optima.open() as fh:
                best = {row["instance"]: float(row.get("best") or row["upper_bound"]) for row in csv.DictReader(fh)}
        out.extend((f, best) for f in files)
    return out


def _natural(p: Path) -> tuple[str, int, int]:
    stem = p.stem
    if stem.startswith("gap"):
        a, b = stem[3:].split("-")
        return ("0", int(a), int(b))
    return ("1" + stem[0], int(stem[1:3]), int(stem[3:]))


def gap_pct(value: float | None, best: float | None) -> float | None:
    if value is None or not best:
        return None
    return 100.0 * (value - best) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    paths = args.paths or [DEFAULT]
    table = Table(title=f"GAP, time limit {args.time_limit:g} s, {args.workers} worker(s)")
    for col in ("instance", "cost", "bound", "best", "gap %", "s", "baseline", "baseline gap %"):
        table.add_column(col, justify="right")
    rows = []
    for path, optima in instance_files(paths):
        inst = read_instance(path)
        best = optima.get(inst.name)
        start = time.perf_counter()
        result = solve(to_problem(inst), time_limit=args.time_limit, seed=args.seed, workers=args.workers)
        seconds = time.perf_counter() - start
        value = None if result.unassigned else result.objective
        base = None if args.no_baseline else baseline(inst, args.time_limit, args.workers)
        row = {
            "instance": inst.name,
            "value": value,
            "lower_bound": result.lower_bound,
            "best": best,
            "gap_pct": gap_pct(value, best),
            "seconds": round(seconds, 2),
            "baseline_value": base,
            "baseline_gap_pct": gap_pct(base, best),
        }
        rows.append(row)
        lb = _fmt(result.lower_bound, 1)
        table.add_row(
            inst.name,
            _fmt(value),
            lb,
            _fmt(best),
            _fmt(row["gap_pct"], 3),
            f"{seconds:.1f}",
            _fmt(base),
            _fmt(row["baseline_gap_pct"], 3),
        )
        print(
            f"{inst.name}: {_fmt(value)} (bound {lb}) best {_fmt(best)} gap {_fmt(row['gap_pct'], 3)}%"
            f" in {seconds:.1f}s | baseline {_fmt(base)} ({_fmt(row['baseline_gap_pct'], 3)}%)",
            flush=True,
        )
    Console().print(table)
    _print_means(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def _print_means(rows: list[dict]) -> None:
    classes: dict[str, list[dict]] = {}
    for row in rows:
        key = "gap1-12" if row["instance"].startswith("gap") else f"type {row['instance'][0].upper()}"
        classes.setdefault(key, []).append(row)
    for key, members in classes.items():
        ours = [r["gap_pct"] for r in members if r["gap_pct"] is not None]
        base = [r["baseline_gap_pct"] for r in members if r["baseline_gap_pct"] is not None]
        print(
            f"{key}: mean gap {_mean(ours)} % (baseline {_mean(base)} %), "
            f"{sum(1 for g in ours if abs(g) < 1e-9)}/{len(members)} at best"
        )


def _mean(values: list[float]) -> str:
    return f"{sum(values) / len(values):.3f}" if values else "-"


def _fmt(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


if __name__ == "__main__":
    main()
