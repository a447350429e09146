"""Latency of ``configure`` — the call the storefront makes on every click.

Simulated shoppers click through each demo template and a generated large template (30 options with up
to 40 values, 200 rules): each click picks an unchosen option and a value from its *current* domain, so
every call is a realistic partial configuration and the exact-domain computation is included.

    python benchmarks/configurator.py [--calls 2000] [--json results.json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from meshfab.domain.catalog import Template, validate_template
from meshfab.engines.configurator import configure

DEMO = Path(__file__).resolve().parent.parent / "examples" / "yiwu" / "templates.yaml"


def large_template(seed: int = 7, options: int = 30, rules: int = 200) -> Template:
    """A big, plausible template: mostly enums, some numbers, loose implication and exclusion rules."""
    rng = random.Random(seed)
    doc_options: list[dict[str, Any]] = []
    for index in range(options):
        size = rng.randint(10, 40)
        if index % 5 == 4:
            doc_options.append(
                {"key": f"n{index}", "type": "number", "unit": "mm", "min": 0, "max": size - 1, "step": 1}
            )
        else:
            doc_options.append(
                {
                    "key": f"o{index}",
                    "type": "enum",
                    "values": [{"value": f"v{value}", "price_delta": value * 10} for value in range(size)],
                }
            )

    def condition(option: dict[str, Any], loose: bool) -> str:
        if option["type"] == "number":
            cut = rng.randint(1, option["max"])
            if loose:
                return f"{option['key']} <= {max(cut, option['max'] // 2)}"
            return f"{option['key']} >= {max(cut, option['max'] - 3)}"
        values = [item["value"] for item in option["values"]]
        count = rng.randint(len(values) // 2, len(values) - 2) if loose else rng.randint(1, 3)
        return f"{option['key']} in [{', '.join(rng.sample(values, count))}]"

    doc_rules = []
    for index in range(rules):
        first, second = rng.sample(doc_options, 2)
        if rng.random() < 0.7:
            text = f"{condition(first, False)} requires {condition(second, True)}"
        else:
            text = f"{condition(first, False)} excludes {condition(second, False)}"
        doc_rules.append({"id": f"r{index}", "rule": text})
    doc = {
        "key": "large",
        "name": "Large generated template",
        "currency": "USD",
        "hs_code": "950300",
        "weight_grams": 100,
        "packing": {"units_per_box": 10},
        "options": doc_options,
        "rules": doc_rules,
        "price": {"base": 1000, "formulas": [{"label": "size", "amount": "n4 * 5 + n9 * 3"}]},
        "materials": [{"material": "plastic", "unit": "g", "quantity": "10 + n4"}],
        "operations": [
            {"capability": "mould", "setup_by": ["o0"], "setup_minutes": 30, "run_minutes": 0.5},
            {"capability": "pack", "run_minutes": 0.1},
        ],
    }
    template, _ = validate_template(doc)
    return template


def _pick(rng: random.Random, domain: Any) -> object:
    if domain.kind == "enum":
        return rng.choice(domain.values)
    if domain.kind == "artwork":
        return {"ref": "upload/artwork.pdf", "format": "pdf", "megabytes": 1, "width_px": 4000}
    low, high = rng.choice(domain.intervals)
    steps = round((high - low) / domain.step)
    value = low + domain.step * rng.randint(0, steps)
    return "X" * int(value) if domain.kind == "text" else value


def measure(template: Template, calls: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    timings: list[float] = []
    while len(timings) < calls:
        chosen: dict[str, object] = {}
        while len(timings) < calls:
            start = time.perf_counter()
            result = configure(template, chosen, quantity=rng.choice((1, 10, 100)))
            timings.append(time.perf_counter() - start)
            open_options = [key for key, domain in result.domains.items() if key not in chosen and domain.may_be_given]
            if result.complete or not open_options:
                break
            key = rng.choice(open_options)
            chosen[key] = _pick(rng, result.domains[key])
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return {
        "template": template.key,
        "calls": calls,
        "p50_ms": round(statistics.median(timings) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "calls_per_s": round(calls / sum(timings), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="configure calls per template")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()
    documents = yaml.safe_load(DEMO.read_text())["templates"]
    templates = [validate_template(doc)[0] for doc in documents] + [large_template()]
    gc.collect()
    gc.freeze()  # as a server would after loading: long-lived template objects leave the GC's scans
    rows = [measure(template, args.calls) for template in templates]
    table = Table(title="configure latency (in-process, exact domains included)")
    for column in ("template", "calls", "p50 ms", "p99 ms", "calls/s"):
        table.add_column(column, justify="left" if column == "template" else "right")
    for row in rows:
        table.add_row(
            row["template"],
            str(row["calls"]),
            f"{row['p50_ms']:.3f}",
            f"{row['p99_ms']:.3f}",
            f"{row['calls_per_s']:.0f}",
        )
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
