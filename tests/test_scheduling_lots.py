"""Lot building and scrap: lines become lots by family, route, due window and lot sizes; scrap makes work."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshfab.engines.scheduling import (
    InvalidProblem,
    LineRequest,
    LotPolicy,
    ScheduleProblem,
    Step,
    StepMode,
    Workcenter,
    build_lots,
    replacement_line,
    solve,
    violations,
)

PRINT = (
    Step("print", (StepMode("print", setup_minutes=10, run_minutes=2),)),
    Step("pack", (StepMode("pack", setup_minutes=0, run_minutes=0.5),)),
)
ENGRAVE = (Step("engrave", (StepMode("engrave", setup_minutes=5, run_minutes=3),)),)
FACTORY = (Workcenter("press", "print"), Workcenter("bench", "pack"), Workcenter("laser", "engrave"))


def line(
    line_id: str, family: str = "red", quantity: int = 10, due: int | None = 1000, route: tuple[Step, ...] = PRINT
) -> LineRequest:
    return LineRequest(id=line_id, family=family, quantity=quantity, route=route, due=due)


def test_lines_of_one_family_and_close_due_times_share_a_lot() -> None:
    lots = build_lots([line("a"), line("b", due=1100), line("c", family="blue")], LotPolicy(due_window=600))
    by_family = {lot.family: lot for lot in lots}
    assert len(lots) == 2
    assert [p.line_id for p in by_family["red"].lines] == ["a", "b"]
    assert by_family["red"].quantity == 20
    durations = [op.modes[0].duration for op in by_family["red"].operations]
    assert durations == [10 + 2 * 20, 10]


def test_far_apart_due_times_or_other_routes_make_separate_lots() -> None:
    lots = build_lots([line("a"), line("b", due=5000), line("c", route=ENGRAVE)], LotPolicy(due_window=600))
    assert sorted(len(lot.lines) for lot in lots) == [1, 1, 1]


def test_a_line_above_the_maximum_is_split_and_completes_with_its_last_lot() -> None:
    lots = build_lots([line("big", quantity=25)], LotPolicy(max_lot=10))
    assert [lot.quantity for lot in lots] == [10, 10, 5]
    assert len({lot.id for lot in lots}) == 3
    problem = ScheduleProblem(FACTORY, lots)
    result = solve(problem, time_limit=5)
    assert violations(problem, result) == []
    (big,) = result.lines
    assert big.completion == max(op.end for op in result.operations().values())


def test_a_lot_below_the_minimum_is_merged_even_across_the_due_window() -> None:
    lots = build_lots(
        [line("a", quantity=3), line("b", quantity=4, due=9000)], LotPolicy(min_lot=5, max_lot=50, due_window=60)
    )
    assert len(lots) == 1 and lots[0].quantity == 7


def test_a_small_lot_that_cannot_merge_is_still_made() -> None:
    lots = build_lots([line("a", quantity=3)], LotPolicy(min_lot=5))
    assert [lot.quantity for lot in lots] == [3]


def test_bad_lines_and_policies_are_rejected() -> None:
    with pytest.raises(InvalidProblem, match="duplicate line"):
        build_lots([line("a"), line("a")], LotPolicy())
    with pytest.raises(InvalidProblem, match="quantity"):
        build_lots([line("a", quantity=0)], LotPolicy())
    with pytest.raises(InvalidProblem, match="min_lot"):
        LotPolicy(min_lot=10, max_lot=5)
    with pytest.raises(InvalidProblem, match="scrapped"):
        replacement_line(line("a"), 0, reported_at=0)


def test_scrap_creates_a_replacement_lot_that_gets_scheduled() -> None:
    original = line("a", quantity=10, due=300)
    first = build_lots([original], LotPolicy())
    remake = replacement_line(original, 3, reported_at=120)
    lots = build_lots([remake], LotPolicy())
    problem = ScheduleProblem(FACTORY, (*first, *lots))
    result = solve(problem, time_limit=5)
    assert violations(problem, result) == []
    placed = [op for op in result.operations().values() if op.line_ids == ("a#r1",)]
    assert len(placed) == 2
    printing = next(op for op in placed if op.workcenter_id == "press")
    assert printing.start >= 120 and printing.end - printing.start == 10 + 2 * 3
    assert {ln.line_id for ln in result.lines} == {"a", "a#r1"}


@settings(max_examples=60, deadline=None)
@given(
    quantities=st.lists(
        st.tuples(st.sampled_from(["red", "blue"]), st.integers(1, 40), st.none() | st.integers(0, 5000)),
        min_size=1,
        max_size=15,
    ),
    min_lot=st.integers(1, 10),
    extra=st.integers(0, 30),
    window=st.integers(0, 2000),
)
def test_lot_building_keeps_every_unit_and_respects_the_policy(
    quantities: list[tuple[str, int, int | None]], min_lot: int, extra: int, window: int
) -> None:
    lines = [line(f"l{i}", family=f, quantity=q, due=d) for i, (f, q, d) in enumerate(quantities)]
    policy = LotPolicy(min_lot=min_lot, max_lot=min_lot + extra, due_window=window)
    lots = build_lots(lines, policy)
    made: dict[str, int] = {}
    for each in lots:
        assert 1 <= each.quantity <= policy.max_lot
        for part in each.lines:
            made[part.line_id] = made.get(part.line_id, 0) + part.quantity
            assert next(ln for ln in lines if ln.id == part.line_id).family == each.family
    assert made == {ln.id: ln.quantity for ln in lines}
    assert len({each.id for each in lots}) == len(lots)


def test_each_route_keeps_its_own_largest_lot() -> None:
    from meshfab.engines import scheduling as sch
    from meshfab.services.schedule_problem import factory_lots, fitting_lot
    from tests.test_domain_factories import factory

    plant = factory(max_lot=50)
    slow = (sch.Step("0-print", (sch.StepMode("print_dtg", 10, 100.0),)),)  # 100 min a unit: few fit a shift
    quick = (
        sch.Step("0-print", (sch.StepMode("print_dtg", 10, 1.0),)),
        sch.Step("1-pack", (sch.StepMode("pack", 5, 0.5),)),
    )
    requests = [sch.LineRequest(f"s{k}", "slow", 3, slow, due=600) for k in range(2)]
    requests += [sch.LineRequest(f"q{k}", "quick", 1, quick, due=600) for k in range(12)]
    assert fitting_lot(plant, requests) == 1  # the factory-wide cap the quick lines must not inherit
    lots = factory_lots(plant, requests)
    quick_lots = [lot for lot in lots if lot.family == "quick"]
    assert len(quick_lots) == 1 and quick_lots[0].quantity == 12  # one set-up for the twelve
    slow_lots = [lot for lot in lots if lot.family == "slow"]
    assert sum(lot.quantity for lot in slow_lots) == 6
    assert all(lot.quantity <= fitting_lot(plant, requests[:1]) for lot in slow_lots)
