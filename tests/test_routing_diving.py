"""Column-generation dives over generalised-assignment tables: the pricing knapsack, the plans and the pruning."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from meshfab.engines.routing.diving import dive, knapsack
from meshfab.engines.routing.heuristics import greedy, plan_cost, shift_pass
from meshfab.engines.routing.knapsack import dp_capacity, relax
from meshfab.engines.routing.lagrangian import subgradient
from meshfab.engines.routing.options import OptionTable, build_options
from meshfab.engines.routing.solve import _dive_beside_tabu
from meshfab.engines.routing.tabu import GapForm, gap_form, to_choice, to_rows
from tests.helpers import benchmark_module, brute_force_gap_optimum, feasible_plan_cost, random_gap_table

DATA = Path(__file__).parent / "data"


def _prices(t: OptionTable, form: GapForm, upper: float) -> np.ndarray:
    lp = subgradient(t, upper, 100)
    return relax(form, dp_capacity(form), upper, 100, lp.multipliers).prices


def _placed_plan_cost(form: GapForm, rows: np.ndarray) -> float:
    assert np.all(rows < len(form.buckets)), "a dive plan puts every line in a real bucket"
    return feasible_plan_cost(form, rows)


def test_pricing_knapsack_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    for _ in range(30):
        n = int(rng.integers(1, 11))
        profit = rng.normal(0, 10, size=n)
        load = rng.integers(1, 30, size=n)
        cap = int(rng.integers(0, 80))
        best = max(
            sum(profit[j] for j in range(n) if bits >> j & 1)
            for bits in range(2**n)
            if sum(load[j] for j in range(n) if bits >> j & 1) <= cap
        )
        value, take = knapsack(profit, load, cap)
        assert value == np.float64(best) or abs(value - best) < 1e-9
        assert load[take].sum() <= cap
        assert abs(profit[take].sum() - value) < 1e-9
        assert np.all(profit[take] > 0)  # a line that loses money is never taken


def test_dives_find_the_brute_force_optimum_and_nothing_below_it() -> None:
    """Random tight tables, some with no plan that fits at all: there the dives must come back empty."""
    rng = np.random.default_rng(8)
    solved = infeasible = 0
    for _ in range(12):
        t, form, cost, load, cap = random_gap_table(rng, 3, 7, max_load=25)
        optimum = brute_force_gap_optimum(cost, load, cap)
        start = to_rows(form, shift_pass(t, greedy(t, np.zeros(len(t.capacity)))))
        prices = _prices(t, form, float(cost.max() * 7))
        rows = dive(form, dp_capacity(form), prices, start, time.perf_counter() + 60)
        if not math.isfinite(optimum):
            assert rows is None
            infeasible += 1
            continue
        solved += 1
        assert rows is not None
        assert _placed_plan_cost(form, rows) == optimum
        # a dive only returns plans strictly cheaper than ``upper``, so none exists below the optimum; the
        # pruning by the Lagrangian bound must not cut the optimum itself away either
        assert dive(form, dp_capacity(form), prices, start, time.perf_counter() + 60, upper=optimum) is None
        rows = dive(form, dp_capacity(form), prices, start, time.perf_counter() + 60, upper=optimum + 1)
        assert rows is not None and _placed_plan_cost(form, rows) == optimum
    assert solved >= 4 and infeasible >= 2  # both cases were exercised


def test_gap1_1_is_solved_to_its_published_optimum() -> None:
    gap = benchmark_module("gap")
    t = build_options(gap.to_problem(gap.read_instance(DATA / "gap1-1.txt")))
    form = gap_form(t)
    assert form is not None
    start = to_rows(form, shift_pass(t, greedy(t, np.zeros(len(t.capacity)))))
    rows = dive(form, dp_capacity(form), _prices(t, form, 300.0), start, time.perf_counter() + 60)
    assert rows is not None
    assert _placed_plan_cost(form, rows) == 261


def test_no_time_means_no_plan_and_an_over_full_start_is_not_taken_as_a_column() -> None:
    rng = np.random.default_rng(1)
    while True:
        t, form, cost, load, cap = random_gap_table(rng, 3, 7, max_load=25)
        if math.isfinite(brute_force_gap_optimum(cost, load, cap)):
            break
    prices = _prices(t, form, float(cost.max() * 7))
    over_full = np.zeros(7, dtype=np.int64)  # every line in bucket 0: far over its capacity
    assert dive(form, dp_capacity(form), prices, over_full, time.perf_counter() - 1) is None
    rows = dive(form, dp_capacity(form), prices, over_full, time.perf_counter() + 60)
    assert rows is not None
    _placed_plan_cost(form, rows)


def test_dives_beside_the_tabu_search_never_return_a_worse_plan() -> None:
    gap = benchmark_module("gap")
    t = build_options(gap.to_problem(gap.read_instance(DATA / "gap12-1.txt")))
    form = gap_form(t)
    assert form is not None
    choice = shift_pass(t, greedy(t, np.zeros(len(t.capacity))))
    upper = plan_cost(t, choice)
    capacity = dp_capacity(form)
    assert capacity is not None
    relaxed = relax(form, capacity, upper, 100, subgradient(t, upper, 100).multipliers)
    found = _dive_beside_tabu(t, form, relaxed, choice, relaxed.rows, time.perf_counter(), 4.0, seed=0)
    assert plan_cost(t, found) <= upper
    _placed_plan_cost(form, to_rows(form, found))
    assert np.array_equal(to_choice(form, to_rows(form, found)), found)
