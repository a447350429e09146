"""Order release: a schedule takes the work due in its window, then more while a workcenter has room."""

from __future__ import annotations

import pytest

from meshfab.engines.scheduling import LineRequest, Step, StepMode, Workcenter, release

DAY = 24 * 60
PRESS = Workcenter("press", "print", count=1)
SEW = Workcenter("sew", "sew", count=2)


def line(id_: str, due: int | None, *steps: tuple[str, int], quantity: int = 1) -> LineRequest:
    route = tuple(Step(f"{i}-{r}", (StepMode(r, 0, float(m)),)) for i, (r, m) in enumerate(steps))
    return LineRequest(id_, "f", quantity, route, due=due)


def ids(lines: list[LineRequest]) -> list[str]:
    return [x.id for x in lines]


def test_lines_beyond_the_window_wait_once_their_workcenter_is_full() -> None:
    lines = [line(f"l{i}", 10 * DAY + i, ("press", 400)) for i in range(5)]  # all due well after the window
    taken, waiting = release(lines, [PRESS], None, window=DAY)
    # 1,440 free minutes: l0..l3 are taken (the fourth while 240 minutes are still free), l4 waits
    assert ids(taken) == ["l0", "l1", "l2", "l3"] and ids(waiting) == ["l4"]


def test_work_due_within_the_window_is_always_taken_and_taken_first() -> None:
    far = [line(f"far{i}", 20 * DAY, ("press", 1000)) for i in range(3)]
    near = [line(f"near{i}", DAY // 2, ("press", 1000)) for i in range(3)]  # 3,000 minutes: more than the day
    taken, waiting = release(far + near, [PRESS], None, window=DAY)
    assert ids(taken) == ["near0", "near1", "near2"] and ids(waiting) == ["far0", "far1", "far2"]


def test_the_order_given_is_kept_and_lines_without_a_due_time_come_last() -> None:
    lines = [line("c", None, ("press", 720)), line("b", 3 * DAY, ("press", 720)), line("a", 2 * DAY, ("press", 720))]
    taken, waiting = release(lines, [PRESS], None, window=DAY)
    assert ids(taken) == ["b", "a"] and ids(waiting) == ["c"]  # a, then b fill the day; c has no due time


def test_a_line_is_taken_while_any_workcenter_it_needs_has_room() -> None:
    lines = [
        line("print-heavy", 5 * DAY, ("press", 2000)),
        line("print-then-sew", 6 * DAY, ("press", 10), ("sew", 10)),
        line("print-only", 7 * DAY, ("press", 10)),
    ]
    taken, waiting = release(lines, [PRESS, SEW], None, window=DAY)
    assert ids(taken) == ["print-heavy", "print-then-sew"] and ids(waiting) == ["print-only"]


def test_only_working_minutes_inside_the_window_count() -> None:
    calendar = ((8 * 60, 12 * 60), (DAY + 8 * 60, DAY + 12 * 60))  # 4 h today, 4 h tomorrow
    lines = [line(f"l{i}", 9 * DAY, ("press", 100)) for i in range(4)]
    taken, waiting = release(lines, [PRESS], calendar, window=DAY)  # tomorrow is beyond the window
    assert ids(taken) == ["l0", "l1", "l2"] and ids(waiting) == ["l3"]
    more_machines = Workcenter("press", "print", count=2)
    taken, _ = release(lines, [more_machines], calendar, window=DAY)
    assert ids(taken) == ["l0", "l1", "l2", "l3"]


def test_a_mode_naming_a_capability_draws_on_every_workcenter_that_has_it() -> None:
    presses = [Workcenter("press-a", "print", efficiency=0.5), Workcenter("press-b", "print", efficiency=1.0)]
    lines = [line(f"l{i}", 9 * DAY, ("print", 700), quantity=1) for i in range(4)]
    taken, waiting = release(lines, presses, None, window=DAY)  # 720 + 1,440 minutes of printing
    assert ids(taken) == ["l0", "l1", "l2", "l3"] and waiting == []
    taken, waiting = release(lines, presses[:1], None, window=DAY)  # 720 minutes: one line and the next
    assert ids(taken) == ["l0", "l1"] and ids(waiting) == ["l2", "l3"]


def test_quantity_multiplies_the_run_minutes() -> None:
    lines = [line("big", 9 * DAY, ("press", 100), quantity=20), line("small", 9 * DAY + 1, ("press", 1))]
    taken, waiting = release(lines, [PRESS], None, window=DAY)
    assert ids(taken) == ["big"] and ids(waiting) == ["small"]


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        release([], [PRESS], None, window=-1)
