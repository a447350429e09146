"""The knapsack relaxation of generalised-assignment tables and the tabu search it starts."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType

import numpy as np

from meshfab.engines.routing.knapsack import dp_capacity, relax
from meshfab.engines.routing.lagrangian import subgradient
from meshfab.engines.routing.options import build_options
from meshfab.engines.routing.tabu import gap_form, tabu_search
from tests.helpers import benchmark_module, brute_force_gap_optimum, random_gap_table

DATA = Path(__file__).parent / "data"


def _gap_module() -> ModuleType:
    return benchmark_module("gap")


def test_knapsack_bound_is_valid_and_tighter_than_the_capacity_relaxation() -> None:
    """gap1-1 (optimum 261): the bound must not exceed the optimum and should beat the capacity relaxation."""
    gap = _gap_module()
    t = build_options(gap.to_problem(gap.read_instance(DATA / "gap1-1.txt")))
    form = gap_form(t)
    assert form is not None
    cap = dp_capacity(form)
    assert cap is not None
    lp = subgradient(t, 300.0, 300)
    r = relax(form, cap, 300.0, 200, lp.multipliers)
    assert lp.bound - 1e-6 <= r.bound <= 261 + 1e-9
    assert r.rows.shape == (t.n_lines,)


def test_knapsack_bound_never_exceeds_abrute_force_gap_optimum() -> None:
    rng = np.random.default_rng(3)
    n = 7
    for _ in range(5):
        t, form, cost, load, cap = random_gap_table(rng, 3, n, max_load=25)
        lp = subgradient(t, float(cost.max() * n), 100)
        r = relax(form, dp_capacity(form), float(cost.max() * n), 100, lp.multipliers)
        assert r.bound <= brute_force_gap_optimum(cost, load, cap) + 1e-9


def test_tabu_search_from_an_over_full_start_returns_a_feasible_plan() -> None:
    gap = _gap_module()
    t = build_options(gap.to_problem(gap.read_instance(DATA / "gap1-1.txt")))
    form = gap_form(t)
    assert form is not None
    n = form.cost.shape[1]
    start = np.zeros(n, dtype=np.int64)  # every line in the first bucket: far over its capacity
    rows = tabu_search(form, start, 2_000, time.perf_counter() + 30, seed=0)
    assert rows is not None
    used = np.bincount(rows, weights=form.load[rows, np.arange(n)], minlength=len(form.capacity))
    assert np.all(used <= form.capacity)
    assert np.all(np.isfinite(form.cost[rows, np.arange(n)]))
