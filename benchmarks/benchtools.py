"""Shared plumbing of the benchmark scripts: the command line, instance discovery, optima, table and JSON.

Convention (see the bench folder's README): ``python benchmarks/NAME.py [PATH ...] [--time-limit S]
[--workers N] [--json FILE]``. PATH is an instance file or a folder holding ``instances/`` and
``optima.csv``; without PATH the folder ``../shared/bench/NAME`` next to the repository is used.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Row:
    instance: str
    value: int | None
    best: int | None
    gap_pct: float | None
    seconds: float
    baseline_value: int | None
    baseline_gap_pct: float | None


Solver = Callable[[Path, float, int], tuple[int | None, float]]
"""(instance file, time limit, workers) → (makespan or None, seconds)."""


def parse_args(name: str, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"benchmarks/{name}.py", description=description)
    parser.add_argument("paths", nargs="*", type=Path, help="instance files or folders with instances/")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance and solver")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers, for both solvers")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline (quick runs)")
    args = parser.parse_args()
    if not args.paths:
        default = REPO.parent / "shared" / "bench" / name
        if not default.is_dir():
            parser.error(f"no PATH given and {default.name!r} bench folder not found next to the repository")
        args.paths = [default]
    return args


def read_optima(folder: Path) -> dict[str, int]:
    """Instance name → best published value (``best`` column, else ``upper_bound``)."""
    path = folder / "optima.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    optima: dict[str, int] = {}
    for row in rows:
        value = row.get("best") or row.get("upper_bound")
        if value:
            optima[row["instance"]] = int(float(value))
    return optima


def natural(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def discover(paths: list[Path]) -> list[tuple[str, Path, int | None]]:
    """(name, file, best) for every instance named or held by the given paths."""
    found: list[tuple[str, Path, int | None]] = []
    for path in paths:
        if path.is_dir():
            folder = path / "instances" if (path / "instances").is_dir() else path
            optima = read_optima(folder.parent if folder.name == "instances" else folder)
            files = sorted(folder.glob("*.txt"), key=lambda f: natural(f.stem))
            found += [(f.stem, f, optima.get(f.stem)) for f in files]
        elif path.is_file():
            found.append((path.stem, path, read_optima(path.parent.parent).get(path.stem)))
        else:
            raise SystemExit(f"no such instance or folder: {path}")
    return found


def gap(value: int | None, best: int | None) -> float | None:
    if value is None or not best:
        return None
    return 100.0 * (value - best) / best


def run(name: str, description: str, ours: Solver, baseline: Solver, baseline_name: str) -> list[Row]:
    """Solve every instance with both solvers, print the table and write JSON when asked."""
    args = parse_args(name, description)
    console = Console()
    rows: list[Row] = []
    baseline_seconds: list[float] = []
    for instance, path, best in discover(args.paths):
        value, seconds = ours(path, args.time_limit, args.workers)
        b_value, b_seconds = (None, 0.0)
        if not args.no_baseline:
            b_value, b_seconds = baseline(path, args.time_limit, args.workers)
        rows.append(Row(instance, value, best, gap(value, best), round(seconds, 2), b_value, gap(b_value, best)))
        baseline_seconds.append(b_seconds)
        console.log(
            f"{instance}: meshfab {value} ({seconds:.1f} s), {baseline_name} {b_value} ({b_seconds:.1f} s), best {best}"
        )
    console.print(_table(name, rows, baseline_seconds, baseline_name, args))
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n")
    return rows


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known and len(known) == len(values) else None


def _table(
    name: str, rows: list[Row], baseline_seconds: list[float], baseline_name: str, args: argparse.Namespace
) -> Table:
    table = Table(title=f"{name}: {args.time_limit:g} s per instance, {args.workers} workers")
    for column in ("instance", "best", "meshfab", "gap %", "s", baseline_name, "gap %", "s"):
        table.add_column(column, justify="left" if column == "instance" else "right")
    for row, b_seconds in zip(rows, baseline_seconds, strict=True):
        table.add_row(
            row.instance,
            str(row.best or "—"),
            str(row.value or "—"),
            _fmt(row.gap_pct),
            _fmt(row.seconds, 1),
            str(row.baseline_value or "—"),
            _fmt(row.baseline_gap_pct),
            _fmt(b_seconds, 1),
        )
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(re.sub(r"\d+$", "", row.instance), []).append(i)
    table.add_section()
    for prefix, members in groups.items():
        table.add_row(
            f"mean {prefix} ({len(members)})",
            "",
            "",
            _fmt(_mean([rows[i].gap_pct for i in members])),
            _fmt(sum(rows[i].seconds for i in members) / len(members), 1),
            "",
            _fmt(_mean([rows[i].baseline_gap_pct for i in members])),
            _fmt(sum(baseline_seconds[i] for i in members) / len(members), 1),
        )
    return table
