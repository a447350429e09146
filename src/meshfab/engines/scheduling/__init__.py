"""Factory scheduling engine: lots of order lines sequenced on a factory's workcenters with CP-SAT.

Pure: plain frozen inputs in, a :class:`ScheduleResult` out; no I/O, no database, no clock. Flexible job shop
with sequence-dependent changeovers, calendars, releases, due times and started work fixed in place. Pure job
shops also get a compiled tabu search (:mod:`.tabu`) whose schedule CP-SAT continues from.
"""

from .evaluate import build_result, violations
from .lots import LineRequest, LotPolicy, Step, StepMode, build_lots, replacement_line
from .problem import InvalidProblem, LinePart, Lot, Mode, Operation, ScheduleProblem, Started, Workcenter
from .release import release
from .result import LineLateness, Objective, ScheduledOperation, ScheduleResult, SolveStatus
from .solver import quick, solve

__all__ = [
    "InvalidProblem",
    "LineLateness",
    "LinePart",
    "LineRequest",
    "Lot",
    "LotPolicy",
    "Mode",
    "Objective",
    "Operation",
    "ScheduleProblem",
    "ScheduleResult",
    "ScheduledOperation",
    "SolveStatus",
    "Started",
    "Step",
    "StepMode",
    "Workcenter",
    "build_lots",
    "build_result",
    "quick",
    "release",
    "replacement_line",
    "solve",
    "violations",
]
