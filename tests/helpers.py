"""Test helpers that build valid requests from what the API itself says is possible."""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from fastapi.testclient import TestClient

SHIP_TO = {
    "name": "Ada Lovelace",
    "line1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "GB",
}
BUYER = {"name": "Ada Lovelace", "email": "ada@example.com"}


def complete_options(client: TestClient, headers: dict[str, str], template: str) -> dict[str, Any]:
    """Pick, option by option, the first value the configurator still offers: exact domains mean no dead end."""
    options: dict[str, Any] = {}
    for _ in range(100):
        result = client.post(f"/v1/templates/{template}/configure", json={"options": options}, headers=headers).json()
        if result["valid"]:
            return options
        pending = [(k, d) for k, d in result["domains"].items() if k not in options and not d["may_be_absent"]]
        if not pending:
            raise AssertionError(f"cannot complete {template}: {result}")
        key, domain = pending[0]
        options[key] = first_value(domain)
    raise AssertionError("configuration did not converge")


def first_value(domain: dict[str, Any]) -> Any:
    kind = domain["kind"]
    if kind == "enum":
        return domain["values"][0]
    if kind == "number":
        return domain["intervals"][0][0]
    if kind == "text":
        return "A" * int(domain["intervals"][0][0])
    return {"ref": "uploads/crest.pdf", "format": "pdf", "megabytes": 2, "width_px": 4000}


def place_order_body(
    client: TestClient, headers: dict[str, str], template: str = "team-shirt", quantity: int = 2, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "buyer": BUYER,
        "ship_to": SHIP_TO,
        "lines": [{"template": template, "options": complete_options(client, headers, template), "quantity": quantity}],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def benchmark_module(name: str) -> ModuleType:
    """A script of ``benchmarks/`` imported as a module, so tests read instances with its own parser."""
    path = Path(__file__).parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_bench", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"{name}_bench"] = module
    spec.loader.exec_module(module)
    return module


def random_gap_table(
    rng: np.random.Generator, m: int, n: int, max_load: int
) -> tuple[Any, Any, np.ndarray, np.ndarray, np.ndarray]:
    """A small random generalised-assignment table shaped like type D (cost falls as load rises, capacities at
    80 % of the mean row load), as the routing engine sees it: (option table, matrix form, cost, load, capacity)."""
    from meshfab.engines.routing.options import build_options
    from meshfab.engines.routing.tabu import gap_form

    gap = benchmark_module("gap")
    load = rng.integers(5, max_load, size=(m, n))
    cost = 111 - load + rng.integers(-10, 11, size=(m, n))
    cap = (0.8 * load.sum(axis=1) / m).astype(int)
    t = build_options(gap.to_problem(gap.GapInstance("rnd", cost.tolist(), load.tolist(), cap.tolist())))
    form = gap_form(t)
    assert form is not None
    return t, form, cost, load, cap


def brute_force_gap_optimum(cost: np.ndarray, load: np.ndarray, cap: np.ndarray) -> float:
    """The optimum of a tiny generalised-assignment table by trying every plan (inf when none fits)."""
    m, n = cost.shape
    best = float("inf")
    for rows in itertools.product(range(m), repeat=n):
        r = np.array(rows)
        if np.all(np.bincount(r, weights=load[r, np.arange(n)], minlength=m) <= cap):
            best = min(best, float(cost[r, np.arange(n)].sum()))
    return best


def feasible_plan_cost(form: Any, rows: np.ndarray) -> float:
    """The cost of ``rows`` (a row of a :class:`GapForm` per line), after checking that the plan keeps every
    capacity and uses only options that exist."""
    n = len(rows)
    used = np.bincount(rows, weights=form.load[rows, np.arange(n)], minlength=len(form.capacity))
    assert np.all(used <= form.capacity)
    cost = form.cost[rows, np.arange(n)]
    assert np.all(np.isfinite(cost))
    return float(cost.sum())


@contextmanager
def busy_machine(processes: int = 2) -> Iterator[None]:
    """Other processes keeping every core busy, as on a shared machine: a solve stopped by the clock does less
    work under them, one stopped by a work budget does not."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
