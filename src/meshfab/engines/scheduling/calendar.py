"""Working time: shifts as working intervals, and the breaks between them.

Choice: **an operation never spans a break.** An operation, together with the changeover in front of it,
runs inside one working interval. On a small-lot line a lot's operation is short next to a shift, a print or
sew job is not left half-done on the machine overnight, and the rule keeps the model exact and fast: the
breaks become fixed intervals in each machine's no-overlap constraint. An operation longer than every
working interval of its machines cannot be placed; the lot builder keeps lots small enough (``max_lot``),
and a problem that still has such an operation is reported ``INFEASIBLE``.

A calendar of ``None`` means always open. Started operations are exempt: they are facts, not plans, so
closed time is cut away where a started operation already runs (``without``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from .problem import Interval


def breaks(calendar: Sequence[Interval] | None, lo: int, hi: int) -> list[Interval]:
    """The closed time inside ``[lo, hi)``: the complement of the working intervals."""
    if calendar is None:
        return []
    gaps: list[Interval] = []
    cursor = lo
    for start, end in calendar:
        if start > cursor:
            gaps.append((cursor, min(start, hi)))
        cursor = max(cursor, end)
        if cursor >= hi:
            break
    if cursor < hi:
        gaps.append((cursor, hi))
    return [(a, b) for a, b in gaps if b > a]


@dataclass(frozen=True)
class Shifts:
    """A calendar ready for many earliest-fit questions: a dispatch asks one for every waiting lot at every step,
    and later and later into a month of shifts, so it looks up the first shift that can still hold the span
    instead of walking from the first shift of the month."""

    intervals: tuple[Interval, ...] | None
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    """each interval's start and end; both ascending, because the intervals are sorted and disjoint
    (`ScheduleProblem` checks)"""

    @classmethod
    def of(cls, calendar: Sequence[Interval] | None) -> Shifts:
        if calendar is None:
            return cls(None, (), ())
        return cls(tuple(calendar), tuple(start for start, _ in calendar), tuple(end for _, end in calendar))

    def holds(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` lies inside one working interval (an empty span fits anywhere open). Only the
        last shift that begins by ``start`` can hold it: every earlier one ends by the time that one begins."""
        if self.intervals is None:
            return True
        k = bisect_right(self.starts, start) - 1
        return k >= 0 and end <= self.ends[k]

    def earliest(self, ready: int, length: int) -> int | None:
        """Earliest begin ``>= ready`` of a span of ``length`` inside one working interval, ``None`` if none holds
        it. A shift that ends before ``ready + length`` cannot hold the span, so the search starts after those."""
        if self.intervals is None:
            return ready
        for k in range(bisect_left(self.ends, ready + length), len(self.intervals)):
            start, end = self.intervals[k]
            begin = max(start, ready)
            if begin + length <= end:
                return begin
        return None


def longest_shift(calendar: Sequence[Interval] | None) -> int | None:
    """Length of the longest working interval (``None`` for an always-open calendar)."""
    if calendar is None:
        return None
    return max((end - start for start, end in calendar), default=0)


def without(closed: Sequence[Interval], taken: Sequence[Interval]) -> list[Interval]:
    """``closed`` minus the spans in ``taken`` (work already running there is not to be contradicted)."""
    pieces = list(closed)
    for t0, t1 in taken:
        cut: list[Interval] = []
        for a, b in pieces:
            if t1 <= a or b <= t0:
                cut.append((a, b))
                continue
            if a < t0:
                cut.append((a, t0))
            if t1 < b:
                cut.append((t1, b))
        pieces = cut
    return pieces
