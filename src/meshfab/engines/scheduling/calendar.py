"""Working time: shifts as working intervals, and the breaks between them.

Choice: **an operation never spans a break.** An operation, together with the changeover in front of it,
runs inside one working interval. On a small-lot line a lot's operation is short next to a shift, a print or
sew job is not left half-done on the machine overnight, and the rule keeps the model exact and fast: the
breaks become fixed intervals in each machine's no-overlap constraint. An operation longer than every
working interval of its machines cannot be placed; the lot builder keeps lots small enough (``max_lot``),
and a problem that still has such an operation is reported ``INFEASIBLE``.

A calendar of ``None`` means always open.
"""

from __future__ import annotations

from collections.abc import Sequence

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


def fits(calendar: Sequence[Interval] | None, start: int, end: int) -> bool:
    """Whether ``[start, end)`` lies inside one working interval (an empty span fits anywhere open)."""
    if calendar is None:
        return True
    return any(a <= start and end <= b for a, b in calendar)


def longest_shift(calendar: Sequence[Interval] | None) -> int | None:
    """Length of the longest working interval (``None`` for an always-open calendar)."""
    if calendar is None:
        return None
    return max((end - start for start, end in calendar), default=0)
