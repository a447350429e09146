"""Quote latency of the promise engine, in-process: the demo world and a generated 500-factory network.

The large network is 500 factories × 30 days in the demo's regions (so the demo's lanes serve it), with
100,000 open lines whose reservations and setup families fill the buckets, mostly in the first days. Each quote
is the very ``quote`` the service calls, on a snapshot built once, as the service keeps it in memory.

    python benchmarks/promise.py [--quotes N] [--seed S] [--json FILE]
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

from meshfab.domain.capacity import Bucket
from meshfab.domain.factories import Factory
from meshfab.domain.lanes import Lane
from meshfab.engines.promise import CapacitySnapshot, OperationNeed, QuoteRequest, Refusal, quote

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Yiwu
LINES = {
    "team-shirt": [
        ("cut", "cotton", 20, 0.6),
        ("print_dtg", "cmyk", 15, 2.0),
        ("sew", "shirt", 10, 3.0),
        ("pack", "poly", 0, 0.3),
    ],
    "flag": [
        ("cut", "poly", 10, 0.4),
        ("sublimation", "flag", 20, 1.5),
        ("sew", "hem", 10, 1.0),
        ("pack", "poly", 0, 0.2),
    ],
    "medal": [("cast", "zinc", 45, 1.2), ("engrave", "medal", 10, 1.5), ("pack", "box", 0, 0.4)],
    "ornament": [("mould", "resin", 30, 0.8), ("laser", "wood", 5, 0.7), ("pack", "box", 0, 0.3)],
    "wristband": [("mould", "silicone", 40, 0.2), ("print_screen", "one-colour", 25, 0.3), ("pack", "bag", 0, 0.1)],
    "embroidered-cap": [("embroider", "thread-6", 15, 4.0), ("pack", "box", 0, 0.3)],
}
CAPABILITIES = sorted({op[0] for ops in LINES.values() for op in ops} | {"dye"})


def read_demo() -> tuple[list[Factory], list[Lane]]:
    folder = REPO / "examples" / "yiwu"
    factories = yaml.safe_load((folder / "factories.yaml").read_text(encoding="utf-8"))["factories"]
    lanes = yaml.safe_load((folder / "lanes.yaml").read_text(encoding="utf-8"))["lanes"]
    return [Factory.model_validate(f) for f in factories], [Lane.model_validate(lane) for lane in lanes]


def generate(demo: list[Factory], count: int, rng: np.random.Generator) -> list[Factory]:
    """``count`` factories cloned from demo ones (region, zone, calendar), with random workcenters and costs."""
    factories = []
    for n in range(count):
        base = demo[int(rng.integers(len(demo)))]
        caps = {"pack", *rng.choice(CAPABILITIES, size=int(rng.integers(2, 7)), replace=False).tolist()}
        doc = base.model_dump(mode="json")
        doc.update(
            id=f"{base.location.region}-g{n:03d}",
            name=f"Generated {n}",
            workcenters=[
                {
                    "capability": c,
                    "count": int(rng.integers(1, 7)),
                    "efficiency": round(float(rng.uniform(0.75, 1.0)), 2),
                }
                for c in sorted(caps)
            ],
            cost_per_minute={c: int(rng.integers(4, 16)) for c in caps},
            status="active",
        )
        factories.append(Factory.model_validate(doc))
    return factories


def open_lines(snap: CapacitySnapshot, lines: int, rng: np.random.Generator) -> tuple[list[Bucket], list]:
    """Reservations of ``lines`` random open lines, clipped to what each bucket holds, and their families."""
    reserved = {cap: np.zeros_like(a) for cap, a in snap.available.items()}
    families: set[tuple[str, str, object, str]] = set()
    kinds = list(LINES)
    for kind, size in zip(*np.unique(rng.choice(len(kinds), size=lines), return_counts=True), strict=True):
        ops = LINES[kinds[int(kind)]]
        capable = np.flatnonzero(np.logical_and.reduce([snap.capable[op[0]] for op in ops]))
        who = capable[rng.integers(len(capable), size=size)]
        day = np.minimum(rng.exponential(12.0, size=size).astype(int), snap.days - 1)
        qty = np.ceil(rng.lognormal(4.6, 0.9, size=size))
        for cap, family, setup, run in ops:
            np.add.at(reserved[cap], (who, day), np.ceil(setup + run * qty).astype(np.int64))
            families.update(
                (snap.factories[int(i)].id, cap, snap.day_of(int(d)), family)
                for i, d in set(zip(who.tolist(), day.tolist(), strict=True))
            )
    buckets = []
    for cap, minutes in reserved.items():
        minutes = np.minimum(minutes, snap.available[cap])
        for i, d in zip(*np.nonzero(minutes), strict=True):
            buckets.append(
                Bucket(
                    snap.factories[i].id, cap, snap.day_of(int(d)), int(snap.available[cap][i, d]), int(minutes[i, d])
                )
            )
    return buckets, sorted(families, key=str)


def requests(snap: CapacitySnapshot, count: int, rng: np.random.Generator) -> list[QuoteRequest]:
    countries = sorted({lane.destination_country for lane in snap.lanes})
    kinds = list(LINES)
    out = []
    for _ in range(count):
        ops = tuple(OperationNeed(c, f, s, r, k) for k, (c, f, s, r) in enumerate(LINES[kinds[rng.integers(6)]]))
        out.append(
            QuoteRequest(
                ops,
                int(np.ceil(rng.lognormal(3.0, 1.0))),
                countries[rng.integers(len(countries))],
                (int(rng.integers(100, 5000)),),
                NOW + timedelta(minutes=int(rng.integers(0, 240))),
                1500,
                "USD",
            )
        )
    return out


def measure(name: str, snap: CapacitySnapshot, count: int, rng: np.random.Generator) -> dict[str, object]:
    batch = requests(snap, count, rng)
    for request in batch[:20]:
        quote(snap, request)
    gc.collect()
    gc.freeze()  # the snapshot is long-lived: keep collector passes over it out of the quotes' tail
    times: list[float] = []
    refused: dict[str, int] = {}
    for request in batch:
        began = time.perf_counter_ns()
        result = quote(snap, request)
        times.append((time.perf_counter_ns() - began) / 1e6)
        if isinstance(result, Refusal):
            refused[result.reason] = refused.get(result.reason, 0) + 1
    ms = np.array(times)
    fill = sum(int(snap.reserved[c].sum()) for c in snap.reserved) / max(
        1, sum(int(a.sum()) for a in snap.available.values())
    )
    return {
        "world": name,
        "quotes": count,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "refused": refused,
        "factories": len(snap.factories),
        "fill": round(fill, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/promise.py", description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=2000, help="quotes per world")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    factories, lanes = read_demo()
    rows = [measure("demo", CapacitySnapshot(factories, lanes, now=NOW, days=60).prepare(), args.quotes, rng)]
    large = generate(factories, 500, rng)
    empty = CapacitySnapshot(large, lanes, now=NOW, days=30)
    buckets, families = open_lines(empty, 100_000, rng)
    began = time.perf_counter()
    snap = CapacitySnapshot(large, lanes, now=NOW, days=30, buckets=buckets, families=families).prepare()
    build = time.perf_counter() - began
    rows.append(measure("large", snap, args.quotes, rng))
    table = Table(title=f"promise: quote latency in-process (large snapshot built in {build:.1f} s)")
    for column in ("world", "factories", "bucket fill", "quotes", "refused", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "world" else "right")
    for row in rows:
        refused = ", ".join(f"{k.split('_')[0]} {v}" for k, v in sorted(row["refused"].items())) or "0"
        table.add_row(
            str(row["world"]),
            str(row["factories"]),
            f"{row['fill']:.0%}",
            str(row["quotes"]),
            refused,
            f"{row['p50_ms']:.2f}",
            f"{row['p99_ms']:.2f}",
            f"{row['max_ms']:.2f}",
        )
    Console().print(table)
    if args.json:
        keys = ("world", "quotes", "p50_ms", "p99_ms")
        args.json.write_text(json.dumps([{k: row[k] for k in keys} for row in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
