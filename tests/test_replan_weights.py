"""The re-plan's prices: in the platform's minor units a kept promise outweighs any production saving.

Factory costs are minor units per minute. With the engine's unit-free default weights a day late cost 50 and a
re-plan moved lines from a near, dear factory to a far, cheap one and broke their promises by days to save a
few dollars; the digital twin showed most broken promises were such moves.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from meshfab.engines import routing
from meshfab.services.network import replan_weights
from meshfab.settings import Settings

HORIZON = 10


def world(promised_day: int) -> routing.RoutingProblem:
    """One line of 60 sewing minutes made in Lodz (41 a minute, 2 days to the buyer), with Yiwu (9 a minute,
    6 days away) free to take it: the move saves 1,920 of production and 40 of shipping."""
    capacity = {("sew", d): 480 for d in range(HORIZON)}
    return routing.RoutingProblem(
        lines=(
            routing.Line(
                id="line-1",
                quantity=1,
                operations=(routing.Operation("sew", 0.0, 60.0),),
                ship_to="PL",
                promised_day=promised_day,
                current_factory="lodz-01",
                current_day=0,
            ),
        ),
        factories=(
            routing.Factory("lodz-01", "lodz", {"sew": 41.0}, capacity),
            routing.Factory("yiwu-01", "yiwu", {"sew": 9.0}, capacity),
        ),
        lanes=(routing.Lane("lodz", "PL", 2, 500.0), routing.Lane("yiwu", "PL", 6, 460.0)),
        horizon_days=HORIZON,
        weights=replan_weights(Settings()),
    )


def where(problem: routing.RoutingProblem) -> str:
    result = routing.solve(problem, time_limit=5, seed=0, workers=1)
    placed = result.assignment["line-1"]
    assert result.unassigned == [] and placed is not None
    return placed[0]


def test_a_move_that_would_break_the_promise_by_a_day_is_not_made() -> None:
    assert where(world(promised_day=5)) == "lodz-01"


def test_a_move_that_keeps_the_promise_is_made_for_its_saving() -> None:
    assert where(world(promised_day=6)) == "yiwu-01"


def test_the_unit_free_defaults_would_break_it_which_is_why_the_service_sets_its_own() -> None:
    cheap_lateness = world(promised_day=5)
    problem = routing.RoutingProblem(
        cheap_lateness.lines, cheap_lateness.factories, cheap_lateness.lanes, HORIZON, routing.Weights()
    )
    assert where(problem) == "yiwu-01"


def test_giving_a_line_up_still_costs_more_than_a_month_late() -> None:
    w = replan_weights(Settings(replan_lateness_per_day=100_000, replan_lateness_per_day_squared=10_000))
    assert w.unassigned > 30 * w.lateness_per_day + 900 * w.lateness_per_day_squared
    assert replan_weights(Settings()).move == Settings().replan_move


def test_negative_prices_are_refused() -> None:
    with pytest.raises(ValidationError, match="replan_lateness_per_day"):
        Settings(replan_lateness_per_day=-1)
    with pytest.raises(ValidationError, match="replan_move"):
        Settings(replan_move=-5)
