"""`evaluate` prices an allocation exactly as the solver does, so 'before' and 'after' of a run compare."""

from __future__ import annotations

import pytest

from meshfab.engines.routing import solve
from meshfab.engines.routing.evaluate import evaluate
from meshfab.engines.routing.generator import random_world


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluate_matches_the_solvers_own_cost_split(seed: int) -> None:
    problem = random_world(seed, 60, 8, 10)
    result = solve(problem, time_limit=2, seed=0)
    assert evaluate(problem, result.assignment).total == pytest.approx(result.costs.total)


def test_the_current_allocation_costs_no_moves_and_a_lost_line_costs_the_unassigned_weight() -> None:
    problem = random_world(3, 30, 6, 8, allocated=1.0)
    current = {
        line.id: (line.current_factory, line.current_day)
        for line in problem.lines
        if line.current_factory is not None and line.current_day is not None
    }
    assert evaluate(problem, current).moves == 0
    dropped = dict(current)
    lost = next(iter(dropped))
    dropped[lost] = None  # type: ignore[assignment]
    gap = evaluate(problem, dropped).unassigned - evaluate(problem, current).unassigned
    assert gap == problem.weights.unassigned
