"""Property test: whatever the world, a plan never breaks a hard constraint and the bound never exceeds it."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshfab.engines.routing import FactoryStatus, RoutingProblem, solve
from meshfab.engines.routing.generator import random_world, with_status


def check_hard_constraints(p: RoutingProblem, assignment: dict) -> None:
    factories = {f.id: f for f in p.factories}
    lanes = {(ln.origin_region, ln.destination) for ln in p.lanes}
    used: dict[tuple[str, str, int], int] = defaultdict(int)
    for ln in p.lines:
        placed = assignment[ln.id]
        if placed is None:
            continue
        fid, day = placed
        f = factories[fid]
        assert 0 <= day < p.horizon_days and day >= ln.release_day
        assert set(ln.minutes()) <= set(f.cost_per_minute), "capability"
        assert (f.region, ln.ship_to) in lanes
        if f.status is FactoryStatus.DARK:
            raise AssertionError("dark factory got a line")
        if f.status is FactoryStatus.PAUSED:
            assert (ln.current_factory, ln.current_day) == (fid, day), "paused factory took new work"
        for cap, minutes in ln.minutes().items():
            used[(fid, cap, day)] += minutes
    for (fid, cap, day), minutes in used.items():
        assert minutes <= factories[fid].capacity.get((cap, day), 0), "capacity"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_lines=st.integers(1, 40),
    n_factories=st.integers(1, 6),
    horizon=st.integers(1, 6),
    load=st.floats(0.3, 1.5),
    status=st.sampled_from([None, FactoryStatus.DARK, FactoryStatus.PAUSED]),
)
def test_plans_respect_capacity_capability_and_status(seed, n_lines, n_factories, horizon, load, status) -> None:
    world = random_world(seed, n_lines, n_factories, horizon, n_regions=3, n_destinations=4, load=load)
    if status is not None:
        world = with_status(world, "F0", status)
    r = solve(world, time_limit=0.5, seed=seed)
    check_hard_constraints(world, dict(r.assignment))
    assert r.lower_bound <= r.objective + 1e-6
    assert set(r.unassigned) == {k for k, v in r.assignment.items() if v is None}
    assert len(r.assignment) == n_lines
