"""Rescue options and tabu search: wider options for stranded lines never break capacity; the tabu search keeps
generalised-assignment plans feasible and never worse than where it started."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from meshfab.engines.routing import solve
from meshfab.engines.routing.generator import random_world
from meshfab.engines.routing.heuristics import greedy, plan_cost, residual_capacity
from meshfab.engines.routing.options import build_options
from meshfab.engines.routing.rescue import rescue_options
from meshfab.engines.routing.tabu import gap_form, tabu_search, to_choice, to_rows
from tests.helpers import benchmark_module


def test_rescued_lines_fit_the_capacity_left() -> None:
    world = random_world(4, 3000, 40, 30, load=0.9)
    t = build_options(world)
    assert np.isfinite(t.line_floor).any()  # the candidate path
    choice = greedy(t, np.zeros(len(t.capacity)))
    stranded = np.nonzero(choice < 0)[0]
    assert len(stranded)
    stranded_cost = plan_cost(t, choice)
    wide, rescued = rescue_options(world, t, choice, math.inf)
    assert len(wide.opt_line) > len(t.opt_line)
    assert (rescued < 0).sum() < len(stranded)
    assert plan_cost(wide, rescued) < stranded_cost
    kept = choice >= 0  # lines the plan had placed keep their option (same factory, day and cost)
    assert np.array_equal(wide.opt_factory[rescued[kept]], t.opt_factory[choice[kept]])
    assert np.array_equal(wide.opt_day[rescued[kept]], t.opt_day[choice[kept]])
    assert residual_capacity(wide, rescued).min() >= 0


def test_tabu_search_keeps_gap_plans_feasible_and_no_worse() -> None:
    gap = benchmark_module("gap")
    t = build_options(gap.to_problem(gap.read_instance(Path(__file__).parent / "data" / "gap1-1.txt")))
    form = gap_form(t)
    assert form is not None
    start = greedy(t, np.zeros(len(t.capacity)))
    rows = tabu_search(form, to_rows(form, start), 2_000, time.perf_counter() + 30, seed=1)
    found = to_choice(form, rows)
    assert plan_cost(t, found) <= plan_cost(t, start)
    assert residual_capacity(t, found).min() >= 0
    assert (found >= 0).all()


def test_planted_world_is_feasible_and_every_line_is_routed() -> None:
    world = random_world(9, 400, 12, 7, load=0.8, planted=True)
    demand = sum(m for ln in world.lines for m in ln.minutes().values())
    capacity = sum(sum(f.capacity.values()) for f in world.factories)
    assert demand <= 0.8 * capacity + 1e-6 * capacity  # the hidden plan fills every bucket to the load
    r = solve(world, time_limit=5)
    assert r.unassigned == []
    assert r.lower_bound <= r.objective


def test_planted_flag_leaves_the_default_world_unchanged() -> None:
    plain, planted = random_world(3, 50, 5, 5), random_world(3, 50, 5, 5, planted=True)
    assert plain.lines == planted.lines
    assert [f.cost_per_minute for f in plain.factories] == [f.cost_per_minute for f in planted.factories]
