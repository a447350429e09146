"""Random but plausible routing worlds, for property tests and the scale benchmark.

Factories sit in regions and own a few capabilities; lines come from a handful of product routings (print+pack,
cut+sew+pack, ...); capacity is sized so that demand is ``load`` of what the network can make, spread over the
days; lanes join every region to every destination, domestic ones cheaper and faster.
"""

from __future__ import annotations

import math
import random

from meshfab.engines.routing.problem import (
    Factory,
    FactoryStatus,
    Lane,
    Line,
    Operation,
    RoutingProblem,
    Weights,
)

CAPABILITIES = ("cut", "print", "sew", "engrave", "pack")
ROUTINGS = (("print", "pack"), ("cut", "sew", "pack"), ("engrave", "pack"), ("cut", "print", "sew", "pack"))


def random_world(
    seed: int,
    n_lines: int,
    n_factories: int,
    horizon: int,
    *,
    n_regions: int = 8,
    n_destinations: int = 12,
    load: float = 0.7,
    allocated: float = 0.5,
    weights: Weights | None = None,
    planted: bool = False,
) -> RoutingProblem:
    """A world of ``n_lines`` lines and ``n_factories`` factories over ``horizon`` days.

    With ``planted`` the capacity is not spread by capability alone (which can leave lines needing four
    capabilities too few factories with room) but sized around a hidden plan: every line is first given a
    capable factory and day, and each bucket gets that plan's minutes divided by ``load``. The world is then
    feasible by construction with every bucket ``load`` full, which is what a scale benchmark needs to judge
    lines left unassigned.
    """
    rng = random.Random(seed)
    regions = [f"R{i}" for i in range(n_regions)]
    dests = [f"C{i}" for i in range(n_destinations)]
    home = {d: regions[i % n_regions] for i, d in enumerate(dests)}
    lines_raw = []
    demand = dict.fromkeys(CAPABILITIES, 0.0)
    biggest = dict.fromkeys(CAPABILITIES, 0.0)
    for i in range(n_lines):
        routing = rng.choice(ROUTINGS)
        qty = rng.randint(1, 40)
        ops = tuple(Operation(c, float(rng.randint(5, 30)), round(rng.uniform(0.2, 3.0), 2)) for c in routing)
        for op in ops:
            demand[op.capability] += op.setup_minutes + op.run_minutes * qty
            biggest[op.capability] = max(biggest[op.capability], op.setup_minutes + op.run_minutes * qty)
        lines_raw.append((f"L{i}", qty, ops, rng.choice(dests), rng.randint(2, horizon + 3)))
    factories_caps = []
    for j in range(n_factories):
        caps = {c for routing in rng.sample(ROUTINGS, rng.randint(1, 2)) for c in routing}
        factories_caps.append((f"F{j}", rng.choice(regions), sorted(caps)))
    holders = {c: sum(1 for _, _, cs in factories_caps if c in cs) for c in CAPABILITIES}
    hidden = _hidden_plan(seed, lines_raw, factories_caps, horizon, load) if planted else {}
    factories = []
    for fid, region, caps in factories_caps:
        # every line fits a bucket on its own; beyond that, capacity follows the load
        per_day = {
            c: max(int(biggest[c]) + 1, int(demand[c] / max(holders[c], 1) / horizon / load * rng.uniform(0.6, 1.4)))
            for c in caps
        }
        capacity = {(c, d): per_day[c] if d % 7 != 6 else per_day[c] // 2 for c in caps for d in range(horizon)}
        if planted:
            capacity = {(c, d): hidden.get((fid, c, d), 0) for c in caps for d in range(horizon)}
        factories.append(
            Factory(
                id=fid,
                region=region,
                cost_per_minute={c: round(rng.uniform(0.2, 1.2), 2) for c in caps},
                capacity=capacity,
                trust=round(rng.uniform(0.5, 1.0), 2),
            )
        )
    lanes = []
    for r in regions:
        for d in dests:
            domestic = home[d] == r
            lanes.append(
                Lane(
                    r,
                    d,
                    rng.randint(1, 3) if domestic else rng.randint(3, 10),
                    round(rng.uniform(2, 6) if domestic else rng.uniform(6, 25), 2),
                    round(rng.uniform(0.05, 0.5), 2),
                )
            )
    by_cap = {c: [f for f in factories if c in f.cost_per_minute] for c in CAPABILITIES}
    lines = []
    for lid, qty, ops, dest, promised in lines_raw:
        cur_f, cur_d = None, None
        if rng.random() < allocated:
            need = {op.capability for op in ops}
            capable = [f for f in by_cap[ops[0].capability] if need <= set(f.cost_per_minute)]
            if capable:
                cur_f, cur_d = rng.choice(capable).id, rng.randrange(0, max(1, min(horizon, promised - 2)))
        lines.append(
            Line(
                id=lid,
                quantity=qty,
                operations=ops,
                ship_to=dest,
                promised_day=promised,
                setup_family=ops[0].capability,
                current_factory=cur_f,
                current_day=cur_d,
            )
        )
    return RoutingProblem(
        lines=tuple(lines),
        factories=tuple(factories),
        lanes=tuple(lanes),
        horizon_days=horizon,
        weights=weights or Weights(),
    )


def with_status(problem: RoutingProblem, factory_id: str, status: FactoryStatus) -> RoutingProblem:
    """The same world with one factory's status changed (e.g. gone dark)."""
    factories = tuple(
        Factory(f.id, f.region, f.cost_per_minute, f.capacity, status, f.trust) if f.id == factory_id else f
        for f in problem.factories
    )
    return RoutingProblem(
        problem.lines, factories, problem.lanes, problem.horizon_days, problem.weights, problem.line_lanes
    )


def _hidden_plan(seed: int, lines_raw: list, factories_caps: list, horizon: int, load: float) -> dict:
    """Bucket capacities (factory id, capability, day) -> minutes around a random plan filled to ``load``."""
    rng = random.Random(seed + 7_919)  # its own stream: the rest of the world stays as without a plan
    used: dict[tuple[str, str, int], float] = {}
    by_need: dict[frozenset[str], list[str]] = {}
    for _, qty, ops, _, _ in lines_raw:
        need = frozenset(op.capability for op in ops)
        if need not in by_need:
            by_need[need] = [fid for fid, _, caps in factories_caps if need <= set(caps)]
        capable = by_need[need]
        if not capable:
            continue
        fid, day = rng.choice(capable), rng.randrange(horizon)
        minutes: dict[str, float] = {}
        for op in ops:
            minutes[op.capability] = minutes.get(op.capability, 0.0) + op.setup_minutes + op.run_minutes * qty
        for c, m in minutes.items():
            key = (fid, c, day)
            used[key] = used.get(key, 0.0) + math.ceil(m - 1e-9)
    return {k: math.ceil(v / load) for k, v in used.items()}
