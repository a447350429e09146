"""What the scheduling engine answers: a status, per-machine timelines, per-line lateness, objective, bound.

The objective is lexicographic — weighted tardiness first, then changeover (setup) minutes, then makespan —
and is carried as an ordered :class:`Objective` so that two schedules compare with ``<``. The bound's first
component is always a valid lower bound on weighted tardiness; the later components are lower bounds among
schedules that match the earlier components of the returned objective.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SolveStatus(StrEnum):
    OPTIMAL = "optimal"
    """Proven best for all three objective levels."""
    FEASIBLE = "feasible"
    """A schedule, not proven best within the time limit."""
    INFEASIBLE = "infeasible"
    """Proven: no schedule satisfies the calendars, releases and started work."""
    UNKNOWN = "unknown"
    """No schedule found within the time limit, none proven impossible."""

    @property
    def has_schedule(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


@dataclass(frozen=True, order=True)
class Objective:
    """Lexicographic objective; ``order=True`` compares fields in this order."""

    weighted_tardiness: int
    setup_minutes: int
    makespan: int


@dataclass(frozen=True)
class ScheduledOperation:
    """One operation placed on one machine. The changeover, if any, runs in ``[start - setup, start)``."""

    operation_id: str
    lot_id: str
    line_ids: tuple[str, ...]
    machine_id: str
    workcenter_id: str
    start: int
    end: int
    setup: int = 0
    fixed: bool = False


@dataclass(frozen=True)
class LineLateness:
    """``lateness = completion - due`` (negative: early); ``tardiness = max(0, lateness)``."""

    line_id: str
    due: int | None
    completion: int
    weight: int

    @property
    def lateness(self) -> int | None:
        return None if self.due is None else self.completion - self.due

    @property
    def tardiness(self) -> int:
        lateness = self.lateness
        return 0 if lateness is None else max(0, lateness)


@dataclass(frozen=True)
class ScheduleResult:
    status: SolveStatus
    timelines: dict[str, tuple[ScheduledOperation, ...]]
    """Machine id → its operations in start order (every machine present, possibly empty)."""
    lines: tuple[LineLateness, ...] = ()
    objective: Objective | None = None
    bound: Objective | None = None
    seconds: float = 0.0
    message: str = ""
    improved: bool = False
    """The search returned a better schedule than the one it started from (the dispatch schedule or the previous
    one): a caller that rations searches learns from it whether searching this factory pays."""

    def operations(self) -> dict[str, ScheduledOperation]:
        """Operation id → its placement."""
        return {op.operation_id: op for ops in self.timelines.values() for op in ops}

    def by_workcenter(self) -> dict[str, tuple[ScheduledOperation, ...]]:
        """Workcenter id → operations of all its machines, in start order."""
        grouped: dict[str, list[ScheduledOperation]] = {}
        for ops in self.timelines.values():
            for op in ops:
                grouped.setdefault(op.workcenter_id, []).append(op)
        return {wc: tuple(sorted(ops, key=lambda o: (o.start, o.machine_id))) for wc, ops in grouped.items()}

    def late_lines(self) -> tuple[LineLateness, ...]:
        return tuple(line for line in self.lines if line.tardiness > 0)

    @property
    def makespan(self) -> int:
        return max((op.end for ops in self.timelines.values() for op in ops), default=0)
