"""Plain input and output types of the network routing engine.

The engine speaks in string ids and days counted from the start of the plan (day 0); translation to solver
indices happens in :mod:`meshfab.engines.routing.options`. All types are frozen so that a problem can be solved
twice (or in another process) and give the same answer.

Model of time, chosen to be simple and defensible at network level: a line is made at one factory on one
production day. For each capability its operations need, it consumes ``setup + run x quantity`` minutes (setup
once per line; batching into lots is the factory scheduler's business) in that factory's bucket for that
capability and day. It ships the same day and arrives ``transit_days`` later (the lane's p95); every day past the
promised delivery day is penalised linearly and quadratically, so lateness grows steeply.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class RoutingInputError(ValueError):
    """The problem is malformed (duplicate ids, unknown factory, negative quantity...)."""


class FactoryStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"  # keeps the lines it holds on their current day, takes nothing new
    DARK = "dark"  # holds nothing: every line must leave it


class RoutingStatus(StrEnum):
    OPTIMAL = "optimal"  # objective equals the proven lower bound
    FEASIBLE = "feasible"  # a plan respecting every hard constraint, with a gap to the bound


@dataclass(frozen=True)
class Operation:
    capability: str
    setup_minutes: float = 0.0
    run_minutes: float = 0.0


@dataclass(frozen=True)
class Line:
    """An unstarted order line.

    ``minutes_by_factory`` overrides the operations' minutes at given factories (other machines, trained teams):
    factory id -> capability -> minutes for the whole line.
    """

    id: str
    quantity: int
    operations: tuple[Operation, ...]
    ship_to: str
    promised_day: int
    setup_family: str = ""
    current_factory: str | None = None
    current_day: int | None = None
    release_day: int = 0
    minutes_by_factory: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def minutes(self) -> dict[str, int]:
        """Minutes per capability (setup once per line), rounded up to whole minutes."""
        total: dict[str, float] = {}
        for op in self.operations:
            total[op.capability] = total.get(op.capability, 0.0) + op.setup_minutes + op.run_minutes * self.quantity
        return {cap: math.ceil(m - 1e-9) for cap, m in total.items()}


@dataclass(frozen=True)
class Factory:
    """A producer. ``capacity`` maps (capability, day) to minutes available to this plan; a capability it has no
    ``cost_per_minute`` for is a capability it lacks."""

    id: str
    region: str
    cost_per_minute: Mapping[str, float]
    capacity: Mapping[tuple[str, int], int]
    status: FactoryStatus = FactoryStatus.ACTIVE
    trust: float = 1.0


@dataclass(frozen=True)
class Lane:
    """Shipping from an origin region to a destination (country or region); transit is the p95 in days."""

    origin_region: str
    destination: str
    transit_days: int
    cost_per_line: float
    cost_per_unit: float = 0.0


@dataclass(frozen=True)
class Weights:
    """Penalty weights, in the same money unit as costs.

    ``unassigned`` must dominate any real assignment cost: it is the price of giving up on a line, so the plan
    saves every line it can before it optimises money.
    """

    lateness_per_day: float = 50.0
    lateness_per_day_squared: float = 10.0
    move: float = 20.0  # line leaves its current factory
    reschedule: float = 1.0  # line stays at its factory but changes day
    trust: float = 5.0  # times (1 - trust): a small preference for trusted factories
    unassigned: float = 100_000.0


@dataclass(frozen=True)
class RoutingProblem:
    """Lines to (re-)route, factories, lanes and a horizon of ``horizon_days`` production days.

    ``line_lanes`` gives shipping terms per (factory id, line id) and takes precedence over ``lanes``, which are
    keyed by (origin region, destination). A factory without a lane to a line cannot serve it.
    """

    lines: tuple[Line, ...]
    factories: tuple[Factory, ...]
    lanes: tuple[Lane, ...] = ()
    horizon_days: int = 30
    weights: Weights = field(default_factory=Weights)
    line_lanes: Mapping[tuple[str, str], Lane] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _validate(self)


def _validate(p: RoutingProblem) -> None:
    if p.horizon_days <= 0:
        raise RoutingInputError(f"horizon_days must be positive, got {p.horizon_days}")
    fids = [f.id for f in p.factories]
    if len(set(fids)) != len(fids):
        raise RoutingInputError("duplicate factory id")
    lids = [ln.id for ln in p.lines]
    if len(set(lids)) != len(lids):
        raise RoutingInputError("duplicate line id")
    known = set(fids)
    for f in p.factories:
        if not 0.0 <= f.trust <= 1.0:
            raise RoutingInputError(f"factory {f.id}: trust {f.trust} outside [0, 1]")
        if any(c < 0 for c in f.cost_per_minute.values()):
            raise RoutingInputError(f"factory {f.id}: negative cost per minute")
        for (cap, day), minutes in f.capacity.items():
            if minutes < 0 or not 0 <= day < p.horizon_days:
                raise RoutingInputError(f"factory {f.id}: bad bucket ({cap}, {day}) = {minutes}")
    for ln in p.lines:
        if ln.quantity <= 0:
            raise RoutingInputError(f"line {ln.id}: quantity must be positive")
        if not ln.operations and not ln.minutes_by_factory:
            raise RoutingInputError(f"line {ln.id}: no operations")
        if any(op.setup_minutes < 0 or op.run_minutes < 0 for op in ln.operations):
            raise RoutingInputError(f"line {ln.id}: negative minutes")
        if ln.current_factory is not None and ln.current_factory not in known:
            raise RoutingInputError(f"line {ln.id}: unknown current factory {ln.current_factory}")
        if ln.current_day is not None and not 0 <= ln.current_day < p.horizon_days:
            raise RoutingInputError(f"line {ln.id}: current day {ln.current_day} outside the horizon")
        if unknown := set(ln.minutes_by_factory) - known:
            raise RoutingInputError(f"line {ln.id}: minutes for unknown factories {sorted(unknown)}")
    for lane in (*p.lanes, *p.line_lanes.values()):
        if lane.transit_days < 0 or lane.cost_per_line < 0 or lane.cost_per_unit < 0:
            raise RoutingInputError(f"lane {lane.origin_region}->{lane.destination}: negative terms")
    w = p.weights
    if min(w.lateness_per_day, w.lateness_per_day_squared, w.move, w.reschedule, w.trust) < 0:
        raise RoutingInputError("weights must be non-negative")
    if w.unassigned <= 0:
        raise RoutingInputError("the unassigned penalty must be positive")


@dataclass(frozen=True)
class CostSplit:
    production: float = 0.0
    shipping: float = 0.0
    lateness: float = 0.0
    moves: float = 0.0  # move and reschedule penalties
    trust: float = 0.0
    unassigned: float = 0.0

    @property
    def total(self) -> float:
        return self.production + self.shipping + self.lateness + self.moves + self.trust + self.unassigned


@dataclass(frozen=True)
class RoutingResult:
    """``assignment`` maps every line id to (factory id, production day), or None when it could not be saved;
    those ids are also listed in ``unassigned``. ``gap`` is ``(objective - lower_bound) / objective``."""

    assignment: Mapping[str, tuple[str, int] | None]
    unassigned: list[str]
    moved: list[str]
    costs: CostSplit
    objective: float
    lower_bound: float
    gap: float
    status: RoutingStatus
    seconds: float
