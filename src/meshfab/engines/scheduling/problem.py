"""What the factory scheduling engine is asked to solve: plain, frozen input types.

A factory owns *workcenters*; each workcenter has one capability (print, sew, engrave, …) and ``count``
identical machines. A *lot* (lines of one setup family made together, see :mod:`.lots`) carries its
operations in processing order; each operation lists alternative *modes*, a resource and a duration.
A mode's resource names either one workcenter (any of its machines) or a capability (any machine of any
workcenter with that capability, duration divided by the workcenter's efficiency): that is the flexible
job shop. Between two consecutive operations on one machine whose lots have different setup families a
changeover (sequence-dependent setup) is needed, read from ``setup_times``.

Time is integer minutes from the problem's origin (the service maps UTC instants and factory-local shifts
onto it). Origin is "now": unstarted work never starts before 0. Operations already started are given in
``started`` and are fixed in place (machine and start); they may begin before the origin.

Due times are the ship cutoffs the promises depend on; like PyJobShop's due dates they do not restrict the
completion time, they only make a late line cost ``weight`` per minute of tardiness.

Invalid input (unknown resource, duplicate id, negative duration, inverted calendar interval…) raises
:class:`InvalidProblem` at construction, naming the offending item; an input that is well formed but
cannot be scheduled comes back from ``solve`` with status ``INFEASIBLE``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

Interval = tuple[int, int]
"""A half-open working interval ``[start, end)`` in minutes from the origin."""


class InvalidProblem(ValueError):
    """The input is malformed; the message names the item at fault."""


@dataclass(frozen=True)
class Workcenter:
    """``count`` identical machines with one capability.

    ``calendar`` overrides the factory calendar for this workcenter (e.g. a night shift on one press);
    ``initial_family`` is the family the machines are set up for at the origin (no changeover for it).
    """

    id: str
    capability: str
    count: int = 1
    efficiency: float = 1.0
    calendar: tuple[Interval, ...] | None = None
    initial_family: str | None = None

    def machine_ids(self) -> tuple[str, ...]:
        """Machine ids: the workcenter id when it has one machine, else ``id#1 … id#count``."""
        if self.count == 1:
            return (self.id,)
        return tuple(f"{self.id}#{k}" for k in range(1, self.count + 1))


@dataclass(frozen=True)
class Mode:
    """One way to run an operation: on ``resource`` (workcenter id or capability) for ``duration`` minutes."""

    resource: str
    duration: int


@dataclass(frozen=True)
class Operation:
    id: str
    modes: tuple[Mode, ...]


@dataclass(frozen=True)
class LinePart:
    """The share of one order line in a lot; a line split over several lots has one part in each."""

    line_id: str
    quantity: int = 1
    due: int | None = None
    weight: int = 1


@dataclass(frozen=True)
class Lot:
    """Operations in processing order, made for ``lines``; none starts before ``release``."""

    id: str
    family: str
    operations: tuple[Operation, ...]
    lines: tuple[LinePart, ...] = ()
    release: int = 0

    @property
    def quantity(self) -> int:
        return sum(part.quantity for part in self.lines)


@dataclass(frozen=True)
class Started:
    """An operation already running (or done) on ``machine_id`` since ``start``: it is never moved."""

    operation_id: str
    machine_id: str
    start: int


@dataclass(frozen=True)
class ScheduleProblem:
    """Everything one factory's schedule depends on.

    ``calendar`` is the factory's working intervals (``None``: always open). ``setup_times`` maps
    ``(from_family, to_family)`` to changeover minutes; a missing pair of different families costs
    ``default_setup``, the same family costs nothing. ``horizon`` bounds every end (default: a safe
    bound computed from the data).
    """

    workcenters: tuple[Workcenter, ...]
    lots: tuple[Lot, ...]
    calendar: tuple[Interval, ...] | None = None
    setup_times: Mapping[tuple[str, str], int] = field(default_factory=dict)
    default_setup: int = 0
    started: tuple[Started, ...] = ()
    horizon: int | None = None

    def __post_init__(self) -> None:
        _validate(self)

    def setup(self, before: str | None, after: str) -> int:
        """Changeover minutes from family ``before`` (``None``: nothing set up) to ``after``."""
        if before is None or before == after:
            return 0
        return self.setup_times.get((before, after), self.default_setup)

    def workcenter_of(self) -> dict[str, Workcenter]:
        """Machine id → its workcenter."""
        return {m: wc for wc in self.workcenters for m in wc.machine_ids()}

    def eligible(self, mode: Mode) -> list[tuple[str, int]]:
        """(machine id, duration) pairs a mode may run on."""
        pairs: list[tuple[str, int]] = []
        for wc in self.workcenters:
            if mode.resource == wc.id:
                pairs += [(m, mode.duration) for m in wc.machine_ids()]
            elif mode.resource == wc.capability:
                duration = math.ceil(mode.duration / wc.efficiency - 1e-9)
                pairs += [(m, duration) for m in wc.machine_ids()]
        return pairs

    def calendar_of(self, workcenter: Workcenter) -> tuple[Interval, ...] | None:
        return workcenter.calendar if workcenter.calendar is not None else self.calendar

    def default_horizon(self) -> int:
        """An end no schedule needs to pass: all work done serially after every release and start."""
        if self.horizon is not None:
            return self.horizon
        longest = sum(max(m.duration / _min_eff(self) for m in op.modes) for lot in self.lots for op in lot.operations)
        setups = len([op for lot in self.lots for op in lot.operations]) * max(
            [self.default_setup, *self.setup_times.values()]
        )
        releases = max([0, *(lot.release for lot in self.lots), *(s.start for s in self.started)])
        span = math.ceil(longest) + setups + releases
        calendars = [c for c in (self.calendar_of(wc) for wc in self.workcenters) if c]
        last = max([end for cal in calendars for _, end in cal], default=0)
        return max(span, last, 1)


def _min_eff(problem: ScheduleProblem) -> float:
    return min([1.0, *(wc.efficiency for wc in problem.workcenters)])


def _check_intervals(owner: str, intervals: tuple[Interval, ...]) -> None:
    previous_end: int | None = None
    for start, end in intervals:
        if end <= start:
            raise InvalidProblem(f"{owner}: calendar interval [{start}, {end}) is empty or inverted")
        if previous_end is not None and start < previous_end:
            raise InvalidProblem(f"{owner}: calendar intervals must be sorted and disjoint")
        previous_end = end


def _validate(problem: ScheduleProblem) -> None:
    wc_ids: set[str] = set()
    for wc in problem.workcenters:
        if wc.id in wc_ids:
            raise InvalidProblem(f"duplicate workcenter id {wc.id!r}")
        wc_ids.add(wc.id)
        if wc.count < 1:
            raise InvalidProblem(f"workcenter {wc.id!r}: count must be at least 1, got {wc.count}")
        if wc.efficiency <= 0:
            raise InvalidProblem(f"workcenter {wc.id!r}: efficiency must be positive")
        if wc.calendar is not None:
            _check_intervals(f"workcenter {wc.id!r}", wc.calendar)
    if problem.calendar is not None:
        _check_intervals("factory", problem.calendar)
    resources = wc_ids | {wc.capability for wc in problem.workcenters}
    lot_ids: set[str] = set()
    op_ids: set[str] = set()
    for lot in problem.lots:
        if lot.id in lot_ids:
            raise InvalidProblem(f"duplicate lot id {lot.id!r}")
        lot_ids.add(lot.id)
        if not lot.operations:
            raise InvalidProblem(f"lot {lot.id!r} has no operations")
        for part in lot.lines:
            if part.quantity < 1 or part.weight < 0:
                raise InvalidProblem(f"lot {lot.id!r}, line {part.line_id!r}: bad quantity or weight")
        for op in lot.operations:
            if op.id in op_ids:
                raise InvalidProblem(f"duplicate operation id {op.id!r}")
            op_ids.add(op.id)
            if not op.modes:
                raise InvalidProblem(f"operation {op.id!r} has no mode")
            for mode in op.modes:
                if mode.resource not in resources:
                    raise InvalidProblem(f"operation {op.id!r}: unknown resource {mode.resource!r}")
                if mode.duration < 0:
                    raise InvalidProblem(f"operation {op.id!r}: negative duration {mode.duration}")
    for (a, b), minutes in problem.setup_times.items():
        if minutes < 0:
            raise InvalidProblem(f"setup time {a!r}→{b!r} is negative")
    if problem.default_setup < 0:
        raise InvalidProblem("default_setup is negative")
    machines = problem.workcenter_of()
    ops = {op.id: op for lot in problem.lots for op in lot.operations}
    seen: set[str] = set()
    for s in problem.started:
        if s.operation_id not in op_ids:
            raise InvalidProblem(f"started operation {s.operation_id!r} is not in any lot")
        if s.operation_id in seen:
            raise InvalidProblem(f"operation {s.operation_id!r} is started twice")
        seen.add(s.operation_id)
        if s.machine_id not in machines:
            raise InvalidProblem(f"started operation {s.operation_id!r}: unknown machine {s.machine_id!r}")
        if all(m != s.machine_id for mode in ops[s.operation_id].modes for m, _ in problem.eligible(mode)):
            raise InvalidProblem(f"started operation {s.operation_id!r} cannot run on {s.machine_id!r}")
    if problem.horizon is not None and problem.horizon <= 0:
        raise InvalidProblem("horizon must be positive")
