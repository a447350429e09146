"""Factory scheduling engine: the schedule it returns obeys machines, lot order, calendars and started work,
and due times, changeovers and warm starts steer it the way the issue asks."""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from meshfab.engines.scheduling import (
    LinePart,
    Lot,
    Mode,
    Operation,
    ScheduleProblem,
    ScheduleResult,
    SolveStatus,
    Started,
    Workcenter,
    quick,
    solve,
    violations,
)
from meshfab.engines.scheduling.calendar import Shifts
from meshfab.engines.scheduling.heuristic import dispatch

DATA = Path(__file__).parent / "data"


def lot(
    lot_id: str, family: str, steps: list[tuple[str, int]], *, due: int | None = None, weight: int = 1, release: int = 0
) -> Lot:
    return Lot(
        id=lot_id,
        family=family,
        release=release,
        operations=tuple(Operation(f"{lot_id}/{k}", (Mode(res, d),)) for k, (res, d) in enumerate(steps)),
        lines=(LinePart(f"line-{lot_id}", 1, due, weight),),
    )


def two_stage_shop(seed: int, lots: int = 8) -> ScheduleProblem:
    """Random lots through cut then sew, with due times and changeovers between two families."""
    rng = random.Random(seed)
    made = tuple(
        lot(
            f"L{i}",
            rng.choice("AB"),
            [("cut", rng.randint(5, 30)), ("sew", rng.randint(5, 30))],
            due=rng.randint(20, 200),
        )
        for i in range(lots)
    )
    return ScheduleProblem(
        (Workcenter("cut", "cut"), Workcenter("sew", "sew")), made, setup_times={("A", "B"): 10, ("B", "A"): 10}
    )


def assert_sound(problem: ScheduleProblem, result: ScheduleResult) -> None:
    """Independent checks of the hard rules, then the engine's own checker."""
    assert result.status.has_schedule, result.message
    for machine, ops in result.timelines.items():
        ordered = sorted(ops, key=lambda o: o.start)
        for before, after in pairwise(ordered):
            assert after.start - after.setup >= before.end, f"overlap on {machine}"
    placed = result.operations()
    for each in problem.lots:
        for before, after in pairwise(each.operations):
            assert placed[after.id].start >= placed[before.id].end
    assert violations(problem, result) == []


def test_ft06_is_solved_to_its_published_optimum() -> None:
    rows = [r.split() for r in (DATA / "ft06.txt").read_text().splitlines() if not r.startswith("#")]
    n, m = map(int, rows[0])
    lots = tuple(
        lot(f"J{j}", "job", [(f"M{int(r[k])}", int(r[k + 1])) for k in range(0, 2 * m, 2)])
        for j, r in enumerate(rows[1 : n + 1])
    )
    problem = ScheduleProblem(tuple(Workcenter(f"M{k}", f"M{k}") for k in range(m)), lots)
    result = solve(problem, time_limit=30, workers=1)
    assert result.status == SolveStatus.OPTIMAL
    assert result.objective is not None and result.objective.makespan == 55
    assert result.bound is not None and result.bound.makespan == 55
    assert_sound(problem, result)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_factories_get_sound_schedules(seed: int) -> None:
    rng = random.Random(seed)
    workcenters = (
        Workcenter("cut", "cut", count=2),
        Workcenter("print", "print", count=2),
        Workcenter("sew", "sew", efficiency=0.8),
        Workcenter("sew2", "sew"),
    )
    calendar = tuple((day * 1440 + 480, day * 1440 + 960) for day in range(10))
    lots = tuple(
        Lot(
            id=f"L{i}",
            family=rng.choice("ABC"),
            release=rng.choice([0, 600, 1500]),
            operations=(
                Operation(f"L{i}/cut", (Mode("cut", rng.randint(10, 60)),)),
                Operation(f"L{i}/print", (Mode("print", rng.randint(20, 90)),)),
                Operation(f"L{i}/sew", (Mode("sew", rng.randint(20, 120)),)),
            ),
            lines=(LinePart(f"l{i}", 5, rng.randint(600, 4000), rng.randint(1, 3)),),
        )
        for i in range(8)
    )
    setups = {(a, b): 15 * (1 + (a < b)) for a in "ABC" for b in "ABC" if a != b}
    problem = ScheduleProblem(workcenters, lots, calendar=calendar, setup_times=setups)
    result = solve(problem, time_limit=3, seed=seed, workers=1)
    assert_sound(problem, result)
    for op in result.operations().values():
        assert any(a <= op.start - op.setup and op.end <= b for a, b in calendar), "spans a break"
    assert result.bound is not None and result.objective is not None
    assert result.bound.weighted_tardiness <= result.objective.weighted_tardiness


def test_an_operation_never_spans_a_break() -> None:
    problem = ScheduleProblem(
        (Workcenter("press", "print"),),
        (lot("a", "A", [("press", 40)]), lot("b", "A", [("press", 40)])),
        calendar=((0, 60), (120, 180)),
    )
    result = solve(problem, time_limit=5)
    starts = sorted(op.start for op in result.timelines["press"])
    assert starts[0] <= 20 and starts[1] == 120
    assert_sound(problem, result)


def test_an_operation_longer_than_every_shift_is_infeasible() -> None:
    problem = ScheduleProblem(
        (Workcenter("press", "print"),), (lot("a", "A", [("press", 90)]),), calendar=((0, 60), (120, 180))
    )
    result = solve(problem, time_limit=5)
    assert result.status == SolveStatus.INFEASIBLE
    assert result.objective is None and "no schedule" in result.message


def test_started_work_is_never_moved() -> None:
    started = Started("a/0", "cut#2", -15)
    problem = ScheduleProblem(
        (Workcenter("cut", "cut", count=2), Workcenter("sew", "sew")),
        (lot("a", "A", [("cut", 30), ("sew", 10)], due=10), lot("b", "A", [("cut", 30), ("sew", 10)], due=10)),
        started=(started,),
    )
    result = solve(problem, time_limit=5)
    placed = result.operations()["a/0"]
    assert (placed.machine_id, placed.start, placed.end, placed.fixed) == ("cut#2", -15, 15, True)
    assert placed.start < 0 and all(op.start >= 0 for op in result.operations().values() if not op.fixed)
    assert_sound(problem, result)


def test_started_work_that_collides_is_infeasible() -> None:
    problem = ScheduleProblem(
        (Workcenter("cut", "cut"),),
        (lot("a", "A", [("cut", 30)]), lot("b", "A", [("cut", 30)])),
        started=(Started("a/0", "cut", 0), Started("b/0", "cut", 10)),
    )
    assert solve(problem, time_limit=5).status == SolveStatus.INFEASIBLE


def test_due_times_drive_the_order_and_a_late_lot_is_reported() -> None:
    problem = ScheduleProblem(
        (Workcenter("engrave", "engrave"),),
        (
            lot("relaxed", "A", [("engrave", 50)], due=500),
            lot("urgent", "A", [("engrave", 50)], due=60),
            lot("hopeless", "A", [("engrave", 50)], due=20, weight=1),
        ),
    )
    result = solve(problem, time_limit=5)
    order = [op.lot_id for op in result.timelines["engrave"]]
    assert order.index("urgent") < order.index("relaxed")
    late = {line.line_id: line for line in result.late_lines()}
    assert "line-relaxed" not in late
    assert late, "an unavoidable late line must be reported"
    total = sum(line.weight * line.tardiness for line in result.lines)
    assert result.objective is not None and result.objective.weighted_tardiness == total
    early = next(line for line in result.lines if line.line_id == "line-relaxed")
    assert early.lateness is not None and early.lateness < 0 and early.tardiness == 0


def test_heavier_lines_win_when_both_cannot_be_on_time() -> None:
    problem = ScheduleProblem(
        (Workcenter("engrave", "engrave"),),
        (lot("vip", "A", [("engrave", 50)], due=50, weight=10), lot("std", "A", [("engrave", 50)], due=50, weight=1)),
    )
    result = solve(problem, time_limit=5)
    assert [op.lot_id for op in result.timelines["engrave"]] == ["vip", "std"]
    assert result.objective is not None and result.objective.weighted_tardiness == 50


def test_changeovers_are_counted_and_families_are_batched() -> None:
    setups = {("red", "blue"): 30, ("blue", "red"): 30}
    problem = ScheduleProblem(
        (Workcenter("press", "print", initial_family="red"),),
        (
            lot("r1", "red", [("press", 10)]),
            lot("b1", "blue", [("press", 10)]),
            lot("r2", "red", [("press", 10)]),
            lot("b2", "blue", [("press", 10)]),
        ),
        setup_times=setups,
    )
    result = solve(problem, time_limit=5)
    families = [op.lot_id[0] for op in result.timelines["press"]]
    assert families == ["r", "r", "b", "b"]
    assert result.objective is not None and result.objective.setup_minutes == 30
    assert result.objective.makespan == 70
    assert result.status == SolveStatus.OPTIMAL
    assert_sound(problem, result)


def test_changeover_time_also_stays_inside_a_shift() -> None:
    problem = ScheduleProblem(
        (Workcenter("press", "print", initial_family="red"),),
        (lot("b1", "blue", [("press", 20)]),),
        calendar=((0, 30), (60, 120)),
        setup_times={("red", "blue"): 20},
    )
    result = solve(problem, time_limit=5)
    op = result.timelines["press"][0]
    assert (op.setup, op.start) == (20, 80)


def test_alternative_capabilities_use_identical_machines_and_efficiency() -> None:
    problem = ScheduleProblem(
        (Workcenter("old", "sew", efficiency=0.5), Workcenter("new", "sew", count=2)),
        tuple(lot(f"x{i}", "A", [("sew", 30)]) for i in range(3)),
    )
    result = solve(problem, time_limit=5)
    assert result.objective is not None and result.objective.makespan == 60
    durations = {op.machine_id: op.end - op.start for op in result.operations().values()}
    assert durations.get("old", 60) == 60 and durations.get("new#1", 30) == 30
    assert_sound(problem, result)


def test_releases_are_respected() -> None:
    problem = ScheduleProblem((Workcenter("cut", "cut"),), (lot("a", "A", [("cut", 5)], release=100),))
    result = solve(problem, time_limit=5)
    assert result.operations()["a/0"].start == 100


def test_warm_start_never_worsens_the_objective() -> None:
    problem = two_stage_shop(7, lots=10)
    first = solve(problem, time_limit=2, seed=1)
    assert first.objective is not None
    for seed in range(3):
        again = solve(problem, time_limit=0.05, seed=seed, warm_start=first)
        assert again.objective is not None and again.objective <= first.objective
        assert_sound(problem, again)


def test_warm_start_from_another_problem_is_only_a_hint() -> None:
    base = (lot("a", "A", [("cut", 10)]), lot("b", "A", [("cut", 10)]))
    before = ScheduleProblem((Workcenter("cut", "cut"),), base)
    after = ScheduleProblem((Workcenter("cut", "cut"),), (*base, lot("c", "A", [("cut", 10)], due=5)))
    previous = solve(before, time_limit=2)
    result = solve(after, time_limit=2, warm_start=previous)
    assert_sound(after, result)
    assert result.operations()["c/0"].start == 0


def test_the_dispatch_schedule_is_sound_and_solve_never_returns_worse() -> None:
    rng = random.Random(11)
    calendar = ((0, 300), (400, 700), (800, 1100), (1200, 5000))
    lots = tuple(
        lot(
            f"L{i}",
            rng.choice("AB"),
            [("cut", rng.randint(5, 60)), ("sew", rng.randint(5, 60))],
            due=rng.randint(50, 600),
            release=rng.choice([0, 120]),
        )
        for i in range(12)
    )
    problem = ScheduleProblem(
        (Workcenter("cut", "cut", count=2), Workcenter("sew", "sew")),
        lots,
        calendar=calendar,
        setup_times={("A", "B"): 25, ("B", "A"): 5},
        started=(Started("L0/0", "cut#1", 0),),
    )
    quick = dispatch(problem)
    assert quick is not None and quick.objective is not None
    assert violations(problem, quick) == []
    result = solve(problem, time_limit=0.05)
    assert result.objective is not None and result.objective <= quick.objective
    assert_sound(problem, result)


def test_dispatch_gives_up_when_an_operation_fits_no_shift() -> None:
    problem = ScheduleProblem((Workcenter("press", "print"),), (lot("a", "A", [("press", 90)]),), calendar=((0, 60),))
    assert dispatch(problem) is None


def test_work_started_before_the_shift_boundary_stays_and_the_rest_follows_the_calendar() -> None:
    problem = ScheduleProblem(
        (Workcenter("press", "print"),),
        (lot("a", "A", [("press", 30)]), lot("b", "A", [("press", 30)])),
        calendar=((0, 100), (200, 300)),
        started=(Started("a/0", "press", -20),),
    )
    result = solve(problem, time_limit=5)
    ops = result.operations()
    assert (ops["a/0"].start, ops["a/0"].end) == (-20, 10)
    assert ops["b/0"].start >= 10 and ops["b/0"].end <= 100
    assert_sound(problem, result)


def test_a_factory_without_lots_gets_an_empty_optimal_schedule() -> None:
    result = solve(ScheduleProblem((Workcenter("press", "print", count=2),), ()), time_limit=1)
    assert result.status == SolveStatus.OPTIMAL
    assert result.timelines == {"press#1": (), "press#2": ()}
    assert result.objective is not None and result.objective.makespan == 0


def test_a_backlog_over_the_arc_budget_gets_a_rolling_horizon(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshfab.engines.scheduling import solver

    monkeypatch.setattr(solver, "ARC_BUDGET", 40)  # two machines × up to 4 operations each
    setups = {("red", "blue"): 15, ("blue", "red"): 15}
    lots = tuple(
        lot(f"L{k}", ("red", "blue")[k % 2], [("press", 10), ("pack", 5)], due=300 - 10 * k) for k in range(10)
    )
    started = (Started("L9/0", "press", 0),)  # least urgent by due time, but running: it must be in the head
    problem = ScheduleProblem(
        (Workcenter("press", "print"), Workcenter("pack", "pack")), lots, setup_times=setups, started=started
    )
    result = solve(problem, time_limit=5)
    assert_sound(problem, result)
    assert "rolling horizon" in result.message and result.bound is None
    assert result.operations()["L9/0"].start == 0
    press = [op.lot_id for op in result.timelines["press"]]
    head = press[: press.index("L9") + 1]
    # after the running lot, CP-SAT sequences the most urgent lots (earliest due: highest k) first
    assert set(head) <= {"L9", "L8", "L7", "L6"}
    assert {"L0", "L1"} <= set(press[len(head) :])


def test_a_backlog_within_the_arc_budget_is_one_model() -> None:
    lots = tuple(lot(f"L{k}", ("red", "blue")[k % 2], [("press", 10)]) for k in range(6))
    problem = ScheduleProblem((Workcenter("press", "print"),), lots, setup_times={("red", "blue"): 5})
    result = solve(problem, time_limit=5)
    assert "rolling horizon" not in result.message and result.status == SolveStatus.OPTIMAL


def test_a_search_says_whether_it_beat_the_schedule_it_started_from() -> None:
    beaten = two_stage_shop(2)  # the dispatch schedule is late by 54 minutes, and CP-SAT proves 16 best
    start = dispatch(beaten)
    result = solve(beaten, time_limit=2, deterministic=True)
    assert start is not None and start.objective is not None and result.objective is not None
    assert result.objective < start.objective and result.improved
    again = solve(beaten, time_limit=2, deterministic=True, warm_start=result)  # starts from the best: no gain
    assert again.objective == result.objective and not again.improved
    held = two_stage_shop(4)  # the dispatch schedule is already optimal: proving it is no improvement
    proven = solve(held, time_limit=2, deterministic=True)
    assert proven.status == SolveStatus.OPTIMAL and proven.objective == dispatch(held).objective  # type: ignore[union-attr]
    assert not proven.improved


def test_quick_gives_the_start_of_a_search_without_searching() -> None:
    problem = two_stage_shop(2)
    started = quick(problem)
    dispatched = dispatch(problem)
    assert dispatched is not None
    assert started.objective == dispatched.objective and started.status == SolveStatus.FEASIBLE
    assert not started.improved
    assert_sound(problem, started)
    best = solve(problem, time_limit=2, deterministic=True)
    kept = quick(problem, warm_start=best)  # the previous schedule still holds and beats the dispatch one
    assert kept.objective == best.objective and kept.message == "previous schedule kept"
    bigger = replace(problem, lots=(*problem.lots, lot("late", "A", [("cut", 10)], due=5)))
    grown = quick(bigger, warm_start=best)  # the previous one misses a lot: the dispatch schedule it is
    assert grown.message == "dispatch schedule" and grown.operations().keys() == {
        op.id for each in bigger.lots for op in each.operations
    }
    assert_sound(bigger, grown)


def test_quick_has_no_schedule_when_no_dispatch_fits_the_calendar() -> None:
    problem = ScheduleProblem((Workcenter("press", "print"),), (lot("a", "A", [("press", 90)]),), calendar=((0, 60),))
    result = quick(problem)
    assert result.status == SolveStatus.UNKNOWN and not result.status.has_schedule
    assert all(ops == () for ops in result.timelines.values())


def test_the_earliest_fit_and_the_fit_test_agree_with_walking_every_shift() -> None:
    rng = random.Random(5)
    for _ in range(200):
        calendar, t = [], 0
        for _ in range(rng.randint(0, 40)):
            t += rng.randint(0, 300)
            calendar.append((t, t + rng.randint(1, 400)))
            t = calendar[-1][1]
        ready, length = rng.randint(0, t + 100), rng.randint(0, 300)
        walked = next(
            (max(a, ready) for a, b in calendar if max(a, ready) + length <= b), None
        )  # every shift from the first
        assert Shifts.of(calendar).earliest(ready, length) == walked
        start = rng.randint(0, t + 100)
        end = start + rng.choice([0, length])
        assert Shifts.of(calendar).holds(start, end) == any(a <= start and end <= b for a, b in calendar)
    assert Shifts.of(None).earliest(17, 10_000) == 17  # always open
    assert Shifts.of([(0, 60), (100, 130)]).earliest(0, 40) == 0
    assert Shifts.of([(0, 60), (100, 130)]).earliest(30, 40) is None  # the later shift is too short
