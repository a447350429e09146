"""Bad scheduling input is rejected at construction with a message naming what is wrong."""

from __future__ import annotations

import pytest

from meshfab.engines.scheduling import (
    InvalidProblem,
    LinePart,
    Lot,
    Mode,
    Operation,
    ScheduleProblem,
    Started,
    Workcenter,
)
from meshfab.engines.scheduling.calendar import Shifts, breaks, without

WC = (Workcenter("press", "print"),)


def one_lot(lot_id: str = "a", op_id: str = "a/0", resource: str = "press", duration: int = 5) -> Lot:
    return Lot(lot_id, "A", (Operation(op_id, (Mode(resource, duration),)),), (LinePart("l"),))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lots": (one_lot(resource="laser"),)}, "unknown resource 'laser'"),
        ({"lots": (one_lot(duration=-1),)}, "negative duration"),
        ({"lots": (one_lot(), one_lot(lot_id="b"))}, "duplicate operation id 'a/0'"),
        ({"lots": (one_lot(), one_lot(op_id="x"))}, "duplicate lot id 'a'"),
        ({"lots": (Lot("e", "A", ()),)}, "has no operations"),
        ({"lots": (one_lot(),), "calendar": ((10, 5),)}, "empty or inverted"),
        ({"lots": (one_lot(),), "calendar": ((0, 50), (40, 60))}, "sorted and disjoint"),
        ({"lots": (one_lot(),), "started": (Started("zz", "press", 0),)}, "not in any lot"),
        ({"lots": (one_lot(),), "started": (Started("a/0", "lathe", 0),)}, "unknown machine"),
        ({"lots": (one_lot(),), "setup_times": {("A", "B"): -3}}, "negative"),
        ({"lots": (one_lot(),), "horizon": 0}, "horizon"),
    ],
)
def test_malformed_problems_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidProblem, match=message):
        ScheduleProblem(workcenters=WC, **kwargs)  # type: ignore[arg-type]


def test_started_on_a_machine_of_the_wrong_capability_is_rejected() -> None:
    with pytest.raises(InvalidProblem, match="cannot run on 'oven'"):
        ScheduleProblem((*WC, Workcenter("oven", "cure")), (one_lot(),), started=(Started("a/0", "oven", 0),))


def test_workcenters_must_be_sound() -> None:
    with pytest.raises(InvalidProblem, match="count"):
        ScheduleProblem((Workcenter("press", "print", count=0),), ())
    with pytest.raises(InvalidProblem, match="duplicate workcenter"):
        ScheduleProblem((*WC, *WC), ())


def test_machine_ids_name_each_identical_machine() -> None:
    assert Workcenter("press", "print").machine_ids() == ("press",)
    assert Workcenter("press", "print", count=3).machine_ids() == ("press#1", "press#2", "press#3")


def test_breaks_are_the_complement_of_the_shifts() -> None:
    shifts = ((480, 960), (1920, 2400))
    assert breaks(shifts, 0, 3000) == [(0, 480), (960, 1920), (2400, 3000)]
    assert breaks(None, 0, 3000) == []
    assert Shifts.of(shifts).holds(500, 960) and not Shifts.of(shifts).holds(900, 1000)


def test_closed_time_is_cut_where_started_work_runs() -> None:
    assert without([(0, 100), (200, 300)], [(90, 210)]) == [(0, 90), (210, 300)]
    assert without([(0, 100)], [(20, 30)]) == [(0, 20), (30, 100)]
    assert without([(0, 100)], []) == [(0, 100)]
