"""The compiled tabu search of generalised-assignment tables, and the reduced-cost fixing that narrows it."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from meshfab.engines.routing.knapsack import dp_capacity, relax
from meshfab.engines.routing.lagrangian import subgradient
from meshfab.engines.routing.options import build_options
from meshfab.engines.routing.tabu import FORBIDDEN, GapForm, _relink, gap_form, tabu_search
from tests.helpers import benchmark_module, feasible_plan_cost, random_gap_table

DATA = Path(__file__).parent / "data"


def _gap_module() -> ModuleType:
    return benchmark_module("gap")


def _form(cost: np.ndarray, load: np.ndarray, cap: np.ndarray, unassigned: float = 1e6) -> GapForm:
    """A GapForm straight from matrices (inf cost: no such option), with the dummy "unassigned" row."""
    m, n = cost.shape
    option = np.where(np.isfinite(cost), np.arange(m * n).reshape(m, n), -1)
    return GapForm(
        buckets=np.arange(m),
        cost=np.vstack([cost, np.full(n, unassigned)]),
        load=np.vstack([load, np.zeros(n, dtype=np.int64)]),
        capacity=np.append(cap, np.iinfo(np.int64).max // 4),
        option=np.vstack([option, np.full(n, -1)]),
    )


def _random_form(rng: np.random.Generator, m: int, n: int, tightness: float) -> GapForm:
    """Type D-like: loads 1..100, cost falling with load, a few missing options, capacity a share of the loads."""
    load = rng.integers(1, 101, size=(m, n))
    cost = (111 - load + rng.integers(-10, 11, size=(m, n))).astype(float)
    cost[rng.random((m, n)) < 0.1] = np.inf
    cap = (tightness * load.sum(axis=1) / m).astype(np.int64)
    return _form(cost, load, cap)


def test_plans_are_feasible_on_random_tight_instances_from_any_start() -> None:
    rng = np.random.default_rng(11)
    for m, n, tightness in [(3, 12, 0.8), (5, 40, 0.8), (8, 30, 0.6), (2, 25, 0.9), (10, 60, 0.7)]:
        g = _random_form(rng, m, n, tightness)
        finite = np.isfinite(g.cost[:-1])
        start = np.argmax(finite, axis=0)  # every line in its first possible bucket: usually far over capacity
        rows = tabu_search(g, start, 3_000, time.perf_counter() + 60, seed=int(rng.integers(100)))
        assert rows is not None
        feasible_plan_cost(g, rows)


def test_a_feasible_start_is_never_made_worse() -> None:
    rng = np.random.default_rng(5)
    g = _random_form(rng, 4, 30, 0.8)
    start = np.full(30, 4)  # every line unassigned: feasible and dear
    rows = tabu_search(g, start, 2_000, time.perf_counter() + 60, seed=0)
    assert rows is not None
    assert feasible_plan_cost(g, rows) <= float(g.cost[start, np.arange(30)].sum())


def test_same_seed_same_plan() -> None:
    g = _random_form(np.random.default_rng(2), 6, 50, 0.8)
    start = np.zeros(50, dtype=np.int64)
    runs = [tabu_search(g, start, 5_000, time.perf_counter() + 60, seed=9) for _ in range(2)]
    assert runs[0] is not None and runs[1] is not None
    assert np.array_equal(runs[0], runs[1])
    two = [tabu_search(g, start, 5_000, time.perf_counter() + 60, seed=9, workers=2) for _ in range(2)]
    assert two[0] is not None and two[1] is not None
    assert np.array_equal(two[0], two[1])  # each worker's search is deterministic, and so is the pick
    feasible_plan_cost(g, two[0])


def test_reaches_the_optimum_of_gap12_1() -> None:
    """gap12 instance c12-1 (Cattrysse et al. 1994, OR-Library gap12), 10 agents x 60 jobs, minimisation optimum
    974 (the benchmark's optima.csv)."""
    gap = _gap_module()
    t = build_options(gap.to_problem(gap.read_instance(DATA / "gap12-1.txt")))
    g = gap_form(t)
    assert g is not None
    rows = tabu_search(g, np.zeros(t.n_lines, dtype=np.int64), 30_000, time.perf_counter() + 60, seed=0)
    assert rows is not None
    assert feasible_plan_cost(g, rows) == 974


def test_relinking_walks_between_the_two_plans() -> None:
    rng = np.random.default_rng(4)
    g = _random_form(rng, 5, 40, 0.8)
    cost = np.where(np.isfinite(g.cost), g.cost, FORBIDDEN)
    finite = np.isfinite(g.cost[:-1])
    source = np.argmax(finite, axis=0)
    guide = (finite.shape[0] - 1) - np.argmax(finite[::-1], axis=0)  # last possible bucket
    mid = _relink(cost, g.load.astype(float), g.capacity.astype(float), np.ones(6), source, guide, 3)
    assert np.all((mid == source) | (mid == guide))
    differ = int((source != guide).sum())
    moved = int((mid != source).sum())
    assert differ // 4 <= moved < differ  # somewhere in the middle part of the path


def _brute_force(g: GapForm) -> tuple[float, np.ndarray]:
    m, n = len(g.buckets), g.cost.shape[1]
    best, best_rows = np.inf, None
    for rows in itertools.product(range(m), repeat=n):
        r = np.array(rows)
        c = float(g.cost[r, np.arange(n)].sum())
        if c < best and np.all(np.bincount(r, weights=g.load[r, np.arange(n)], minlength=m) <= g.capacity[:m]):
            best, best_rows = c, r
    assert best_rows is not None
    return best, best_rows


def test_reduced_cost_fixing_keeps_every_pair_of_an_optimal_plan() -> None:
    """The pairs left out by fixing at an upper bound must never be needed by a plan that good (brute force)."""
    rng = np.random.default_rng(8)
    pruned, n = 0, 8
    for _ in range(6):
        t, form, _, _, _ = random_gap_table(rng, 3, n, max_load=30)
        opt, rows = _brute_force(form)
        lp = subgradient(t, opt, 100)
        r = relax(form, dp_capacity(form), opt, 200, lp.multipliers)
        allowed = r.allowed(opt)
        assert np.all(allowed[rows, np.arange(n)])
        pruned += int((~allowed[:-1]).sum())
    assert pruned > 0  # and fixing does leave pairs out


def test_solve_on_a_gap_table_is_deterministic_with_one_worker() -> None:
    """The whole GAP path (probe, knapsack, both tabu searches, CP-SAT, LNS) with one worker and a seed. Limits
    count work, not seconds: on a loaded machine two solves stopped by the clock stop at different points."""
    from meshfab.engines.routing import solve

    gap = _gap_module()
    rng = np.random.default_rng(21)
    m, n = 8, 60
    load = rng.integers(1, 101, size=(m, n))
    cost = 111 - load + rng.integers(-10, 11, size=(m, n))
    cap = (0.8 * load.sum(axis=1) / m).astype(int)
    problem = gap.to_problem(gap.GapInstance("d-like", cost.tolist(), load.tolist(), cap.tolist()))
    a = solve(problem, time_limit=3, seed=3, workers=1, deterministic=True)
    b = solve(problem, time_limit=3, seed=3, workers=1, deterministic=True)
    assert a.assignment == b.assignment
    assert a.objective == b.objective and a.lower_bound <= a.objective
    assert not a.unassigned


def test_the_whole_model_over_the_fixed_pairs_finds_the_optimum_with_a_valid_bound() -> None:
    """The CP-SAT branch (probe close to the knapsack bound, two workers) searches only the pairs fixing leaves:
    it must still reach the brute-force optimum, and its bound must hold for the whole problem."""
    from meshfab.engines.routing.heuristics import greedy, plan_cost, shift_pass
    from meshfab.engines.routing.solve import _whole_model

    rng = np.random.default_rng(5)
    for _ in range(4):
        t, form, _, _, _ = random_gap_table(rng, 3, 8, max_load=30)
        opt, _ = _brute_force(form)
        start = shift_pass(t, greedy(t, np.zeros(len(t.capacity))))
        upper = plan_cost(t, start)
        r = relax(form, dp_capacity(form), upper, 200, subgradient(t, upper, 100).multipliers)
        sub = _whole_model(t, form, r, start, time.perf_counter() + 5, seed=0, workers=2)
        assert plan_cost(t, sub.choice) == opt
        assert sub.bound is not None and sub.bound <= opt + 1e-6
