"""Behaviour of the network routing engine on small hand-made and generated worlds."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshfab.engines.routing import (
    Factory,
    FactoryStatus,
    Lane,
    Line,
    Operation,
    RoutingInputError,
    RoutingProblem,
    RoutingStatus,
    Weights,
    solve,
)
from meshfab.engines.routing.generator import random_world, with_status
from tests.helpers import benchmark_module, busy_machine

DATA = Path(__file__).parent / "data"


def factory(
    fid: str,
    region: str = "EU",
    caps: dict[str, float] | None = None,
    minutes: int = 480,
    days: int = 3,
    status: FactoryStatus = FactoryStatus.ACTIVE,
    trust: float = 1.0,
) -> Factory:
    caps = caps or {"print": 1.0, "pack": 0.5}
    return Factory(fid, region, caps, {(c, d): minutes for c in caps for d in range(days)}, status, trust)


def line(lid: str, promised: int = 2, caps: tuple[str, ...] = ("print", "pack"), qty: int = 10, **kw: object) -> Line:
    ops = tuple(Operation(c, 10.0, 1.0) for c in caps)
    return Line(lid, qty, ops, "DE", promised, **kw)  # type: ignore[arg-type]


LANES = (Lane("EU", "DE", 1, 5.0), Lane("ASIA", "DE", 6, 2.0))


def rerouted(problem: RoutingProblem, result_assignment: dict) -> RoutingProblem:
    lines = tuple(
        Line(
            ln.id,
            ln.quantity,
            ln.operations,
            ln.ship_to,
            ln.promised_day,
            ln.setup_family,
            *(result_assignment[ln.id] or (None, None)),
        )
        for ln in problem.lines
    )
    return RoutingProblem(lines, problem.factories, problem.lanes, problem.horizon_days, problem.weights)


def test_prefers_the_cheaper_factory_when_both_are_on_time() -> None:
    p = RoutingProblem((line("a"),), (factory("cheap", caps={"print": 0.5, "pack": 0.1}), factory("dear")), LANES, 3)
    r = solve(p, time_limit=2)
    assert r.assignment["a"][0] == "cheap"
    assert r.status is RoutingStatus.OPTIMAL
    assert r.costs.production == pytest.approx(20 * 0.5 + 20 * 0.1)
    assert r.costs.shipping == pytest.approx(5.0)
    assert r.objective == pytest.approx(r.costs.total)


def test_lateness_is_steep_enough_to_pay_for_a_dearer_on_time_factory() -> None:
    far = factory("far", region="ASIA", caps={"print": 0.1, "pack": 0.1})
    near = factory("near", caps={"print": 1.0, "pack": 1.0})
    r = solve(RoutingProblem((line("a", promised=2),), (far, near), LANES, 3), time_limit=2)
    assert r.assignment["a"][0] == "near"
    assert r.costs.lateness == 0.0


def test_dark_factory_lines_are_all_rescued_elsewhere() -> None:
    world = random_world(3, 60, 6, 5, load=0.5, allocated=1.0)
    victim = max(
        {ln.current_factory for ln in world.lines if ln.current_factory},
        key=lambda f: sum(ln.current_factory == f for ln in world.lines),
    )
    held = {ln.id for ln in world.lines if ln.current_factory == victim}
    r = solve(with_status(world, victim, FactoryStatus.DARK), time_limit=3)
    assert held
    assert set(r.assignment) == {ln.id for ln in world.lines}
    assert all(a is None or a[0] != victim for a in r.assignment.values())
    assert set(r.unassigned) == {lid for lid, a in r.assignment.items() if a is None}
    rescued = [lid for lid in held if r.assignment[lid] is not None]
    assert set(rescued) <= set(r.moved)


def test_lines_that_cannot_be_saved_are_reported_by_id() -> None:
    only = factory("engraver", caps={"engrave": 1.0, "pack": 1.0}, status=FactoryStatus.DARK)
    printer = factory("printer")
    lines = (line("medal", caps=("engrave", "pack"), current_factory="engraver", current_day=0), line("shirt"))
    r = solve(RoutingProblem(lines, (only, printer), LANES, 3), time_limit=2)
    assert r.unassigned == ["medal"]
    assert r.assignment["medal"] is None
    assert r.assignment["shirt"][0] == "printer"
    assert r.costs.unassigned == Weights().unassigned
    assert r.lower_bound <= r.objective


def test_paused_factory_keeps_its_line_but_takes_nothing_new() -> None:
    paused = factory("paused", caps={"print": 0.01, "pack": 0.01}, status=FactoryStatus.PAUSED)
    other = factory("other")
    lines = (line("kept", current_factory="paused", current_day=1), line("new"))
    r = solve(RoutingProblem(lines, (paused, other), LANES, 3), time_limit=2)
    assert r.assignment["kept"] == ("paused", 1)
    assert r.assignment["new"][0] == "other"


def test_capacity_forces_the_second_line_to_another_day_or_factory() -> None:
    small = factory("small", minutes=30, days=1)
    lines = (line("a", promised=5), line("b", promised=5))  # each needs 20 print + 20 pack minutes
    r = solve(
        RoutingProblem(lines, (small, factory("big", caps={"print": 2.0, "pack": 2.0}, days=1)), LANES, 1), time_limit=2
    )
    assert sorted(a[0] for a in r.assignment.values()) == ["big", "small"]


def test_replanning_an_optimal_plan_moves_nothing() -> None:
    world = random_world(5, 40, 5, 4, load=0.5, allocated=0.0)
    first = solve(world, time_limit=5)
    assert first.status is RoutingStatus.OPTIMAL
    second = solve(rerouted(world, dict(first.assignment)), time_limit=5)
    assert second.moved == []
    assert second.assignment == first.assignment
    assert second.costs.moves == 0.0


def test_same_seed_same_plan_with_one_worker() -> None:
    world = random_world(11, 150, 8, 6, load=0.9)
    a = solve(world, time_limit=8, seed=7, workers=1)
    b = solve(world, time_limit=8, seed=7, workers=1)
    assert a.status is RoutingStatus.FEASIBLE  # a search that ran its budget, not a trivial optimum
    assert a.assignment == b.assignment
    assert a.objective == b.objective


def test_scale_path_with_candidates_keeps_a_valid_bound() -> None:
    world = random_world(2, 3000, 40, 30, load=0.6)
    r = solve(world, time_limit=8)
    assert r.lower_bound <= r.objective
    assert 0.0 <= r.gap <= 1.0
    assert r.costs.total == pytest.approx(r.objective)


@pytest.mark.parametrize(
    "build",
    [
        lambda: RoutingProblem((line("a"), line("a")), (factory("f"),), LANES, 3),
        lambda: RoutingProblem((line("a", current_factory="ghost"),), (factory("f"),), LANES, 3),
        lambda: RoutingProblem((line("a", qty=0),), (factory("f"),), LANES, 3),
        lambda: RoutingProblem((line("a"),), (factory("f"), factory("f")), LANES, 3),
        lambda: RoutingProblem((line("a"),), (factory("f", days=5),), LANES, 3),
        lambda: RoutingProblem((line("a"),), (factory("f", trust=1.5),), LANES, 3),
        lambda: RoutingProblem((line("a"),), (factory("f"),), LANES, 0),
    ],
)
def test_bad_input_is_rejected_with_a_clear_error(build) -> None:
    with pytest.raises(RoutingInputError):
        build()


def test_bad_solver_parameters_are_rejected() -> None:
    p = RoutingProblem((line("a"),), (factory("f"),), LANES, 3)
    with pytest.raises(ValueError, match="time_limit"):
        solve(p, time_limit=0)
    with pytest.raises(ValueError, match="workers"):
        solve(p, workers=0)


def test_gap_instance_through_the_engine_reaches_the_published_optimum() -> None:
    """gap1 instance c1-1 (Cattrysse et al. 1994, OR-Library gap1), minimisation optimum 261."""
    gap = benchmark_module("gap")
    inst = gap.read_instance(DATA / "gap1-1.txt")
    r = solve(gap.to_problem(inst), time_limit=10)
    assert r.unassigned == []
    assert r.objective == 261
    assert r.status is RoutingStatus.OPTIMAL
    loads = [0] * len(inst.capacity)
    for j, (fid, _) in enumerate(r.assignment[f"J{j}"] for j in range(len(inst.cost[0]))):
        loads[int(fid[1:])] += inst.load[int(fid[1:])][j]
    assert all(u <= c for u, c in zip(loads, inst.capacity, strict=True))


def test_a_deterministic_plan_does_not_depend_on_the_machines_load() -> None:
    """A large table (candidate options, phases that stop on the clock): on the clock, a busy machine cuts the
    phases short and the plan changes; counted in work, the plan is the same."""
    world = random_world(2, 3000, 40, 30, load=0.6)
    quiet = solve(world, time_limit=0.5, seed=7, workers=1, deterministic=True)
    with busy_machine(4):  # on the clock, this load made the plan about nine times dearer when this was written
        loaded = solve(world, time_limit=0.5, seed=7, workers=1, deterministic=True)
    assert quiet.assignment == loaded.assignment
    assert quiet.objective == loaded.objective
    with pytest.raises(ValueError, match="one worker"):
        solve(world, time_limit=1.0, workers=2, deterministic=True)
