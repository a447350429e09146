"""Lot building: the order lines at one factory become lots of one setup family.

Rules (applied to unstarted lines only; a lot with a started operation is passed to the engine as it is):

* **Grouping** — two lines may share a lot only if they have the same setup family *and* the same route
  (the same operations with the same modes); anything else is a different job on the floor.
* **Merge** — inside a group, lines are taken in order of due time (earliest first; no due time last) and
  added to the open lot while the lot stays within ``max_lot`` units and the line's due time is at most
  ``due_window`` minutes after the lot's earliest due time (compatible due times). Otherwise a new lot opens.
* **Minimum lot** — a lot below the factory's ``min_lot`` is merged into the next lot of its group when the
  sum still fits ``max_lot`` (the due window is waived: the factory will not run a smaller lot). If it cannot
  be merged it is still made: the line was accepted and priced, and units are custom, so nothing is padded.
* **Split** — a line larger than ``max_lot`` is split into lots of ``max_lot`` units (the last takes the
  rest); the line completes when its last lot does. Splitting only happens for size, never to chase due times.
* **Scrap** — scrapped units come back as a replacement line (``replacement_line``): same route and family,
  the scrapped quantity, the original due time, released at the report; it is lotted like any other line.

Operation minutes for a lot: ``setup_minutes + run_minutes × quantity`` per mode (the per-lot set-up of the
template step, separate from the family changeover the engine adds between lots).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .problem import InvalidProblem, LinePart, Lot, Mode, Operation


@dataclass(frozen=True)
class StepMode:
    """A way to run a template step: on ``resource``, ``setup_minutes`` per lot + ``run_minutes`` per unit."""

    resource: str
    setup_minutes: int
    run_minutes: float


@dataclass(frozen=True)
class Step:
    name: str
    modes: tuple[StepMode, ...]


@dataclass(frozen=True)
class LineRequest:
    """An order line at this factory, as the engine needs it."""

    id: str
    family: str
    quantity: int
    route: tuple[Step, ...]
    due: int | None = None
    weight: int = 1
    release: int = 0


@dataclass(frozen=True)
class LotPolicy:
    min_lot: int = 1
    max_lot: int = 1_000_000
    due_window: int = 24 * 60

    def __post_init__(self) -> None:
        if not 1 <= self.min_lot <= self.max_lot:
            raise InvalidProblem(f"lot policy needs 1 <= min_lot <= max_lot, got {self.min_lot}, {self.max_lot}")
        if self.due_window < 0:
            raise InvalidProblem("due_window must not be negative")


def build_lots(lines: list[LineRequest] | tuple[LineRequest, ...], policy: LotPolicy) -> tuple[Lot, ...]:
    """Lots for ``lines`` by the rules above.

    Lot ids are ``<family>:<first line id>`` (``~2``, ``~3``… when a split line starts several lots), so that
    adding a line leaves the other lots' ids, and a warm start keyed by them, mostly intact. Operation ids
    are ``<lot id>/<step name>``.
    """
    groups: dict[tuple[str, tuple[Step, ...]], list[tuple[LineRequest, int]]] = {}
    seen: set[str] = set()
    for line in lines:
        if line.id in seen:
            raise InvalidProblem(f"duplicate line id {line.id!r}")
        seen.add(line.id)
        if line.quantity < 1:
            raise InvalidProblem(f"line {line.id!r}: quantity must be at least 1")
        if not line.route:
            raise InvalidProblem(f"line {line.id!r} has no route")
        chunks = [policy.max_lot] * (line.quantity // policy.max_lot)
        if line.quantity % policy.max_lot:
            chunks.append(line.quantity % policy.max_lot)
        groups.setdefault((line.family, line.route), []).extend((line, q) for q in chunks)
    lots: list[Lot] = []
    used: set[str] = set()
    for (family, route), parts in sorted(groups.items(), key=lambda g: g[0][0]):
        parts.sort(key=lambda p: (p[0].due is None, p[0].due or 0, p[0].id))
        for members in _merge_small(_pack(parts, policy), policy):
            base = lot_id = f"{family}:{members[0][0].id}"
            n = 1
            while lot_id in used:
                n += 1
                lot_id = f"{base}~{n}"
            used.add(lot_id)
            lots.append(_lot(lot_id, family, route, members))
    return tuple(lots)


def _pack(parts: list[tuple[LineRequest, int]], policy: LotPolicy) -> list[list[tuple[LineRequest, int]]]:
    packed: list[list[tuple[LineRequest, int]]] = []
    for line, quantity in parts:
        if packed:
            current = packed[-1]
            first_due = current[0][0].due
            size = sum(q for _, q in current)
            compatible = (first_due is None) == (line.due is None) and (
                line.due is None or first_due is None or line.due - first_due <= policy.due_window
            )
            if compatible and size + quantity <= policy.max_lot:
                current.append((line, quantity))
                continue
        packed.append([(line, quantity)])
    return packed


def _merge_small(packed: list[list[tuple[LineRequest, int]]], policy: LotPolicy) -> list[list[tuple[LineRequest, int]]]:
    merged: list[list[tuple[LineRequest, int]]] = []
    for members in packed:
        if merged:
            previous = merged[-1]
            size_prev = sum(q for _, q in previous)
            size_here = sum(q for _, q in members)
            small = size_prev < policy.min_lot or size_here < policy.min_lot
            if small and size_prev + size_here <= policy.max_lot:
                previous.extend(members)
                continue
        merged.append(list(members))
    return merged


def _lot(lot_id: str, family: str, route: tuple[Step, ...], members: list[tuple[LineRequest, int]]) -> Lot:
    quantity = sum(q for _, q in members)
    parts: dict[str, LinePart] = {}
    for line, q in members:  # a line split by size may land twice in one lot after a min-lot merge
        known = parts.get(line.id)
        parts[line.id] = LinePart(line.id, q + (known.quantity if known else 0), line.due, line.weight)
    operations = tuple(
        Operation(
            f"{lot_id}/{step.name}",
            tuple(Mode(m.resource, m.setup_minutes + round(m.run_minutes * quantity)) for m in step.modes),
        )
        for step in route
    )
    return Lot(
        id=lot_id,
        family=family,
        operations=operations,
        lines=tuple(parts.values()),
        release=max(line.release for line, _ in members),
    )


def replacement_line(line: LineRequest, scrapped: int, *, reported_at: int, suffix: str = "r1") -> LineRequest:
    """The line remaking ``scrapped`` units of ``line``: same route and due time, released at the report."""
    if scrapped < 1:
        raise InvalidProblem(f"scrapped quantity must be at least 1, got {scrapped}")
    return replace(line, id=f"{line.id}#{suffix}", quantity=scrapped, release=max(line.release, reported_at))
