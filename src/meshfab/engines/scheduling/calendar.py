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
