"""The cost of a given allocation, by the same rules the solver optimises.

A planning run reports the cost of the plan it starts from beside the plan it proposes, so the operator sees
what a re-plan bought; that needs the objective evaluated on an allocation the solver did not choose.
"""

from __future__ import annotations

from collections.abc import Mapping

from meshfab.engines.routing.problem import CostSplit, Lane, RoutingProblem


def evaluate(problem: RoutingProblem, assignment: Mapping[str, tuple[str, int] | None]) -> CostSplit:
    """Production, shipping, lateness, moves and trust of `assignment`; a missing line counts as unassigned."""
    factories = {f.id: f for f in problem.factories}
    lanes = {(lane.origin_region, lane.destination): lane for lane in problem.lanes}
    w = problem.weights
    parts = dict.fromkeys(("production", "shipping", "lateness", "moves", "trust", "unassigned"), 0.0)
    for line in problem.lines:
        placed = assignment.get(line.id)
        factory = factories.get(placed[0]) if placed else None
        lane: Lane | None = None
        if factory is not None:
            lane = problem.line_lanes.get((factory.id, line.id)) or lanes.get((factory.region, line.ship_to))
        if placed is None or factory is None or lane is None:
            parts["unassigned"] += w.unassigned
            continue
        day = placed[1]
        minutes = line.minutes_by_factory.get(factory.id) or line.minutes()
        parts["production"] += sum(m * factory.cost_per_minute.get(cap, 0.0) for cap, m in minutes.items())
        parts["shipping"] += lane.cost_per_line + lane.cost_per_unit * line.quantity
        late = max(0, day + lane.transit_days - line.promised_day)
        parts["lateness"] += w.lateness_per_day * late + w.lateness_per_day_squared * late * late
        if line.current_factory is not None and line.current_factory != factory.id:
            parts["moves"] += w.move
        elif line.current_day is not None and line.current_day != day:
            parts["moves"] += w.reschedule
        parts["trust"] += w.trust * (1.0 - factory.trust)
    return CostSplit(**parts)
