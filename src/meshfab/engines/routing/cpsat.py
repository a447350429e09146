"""CP-SAT model of (part of) the routing problem over the option table.

The model frees a set of lines, keeps every other line where it is, and chooses for each freed line exactly one
option or "unassigned", within the capacity those fixed lines leave. Freeing every line gives the whole problem
(and, when the option table is complete, a proven bound). Costs are scaled to integers and rounded *down*, so the
solver's bound divided by the scale is still a valid bound on the true, unrounded cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from meshfab.engines.routing.heuristics import residual_capacity
from meshfab.engines.routing.options import OptionTable


@dataclass(frozen=True)
class SubResult:
    choice: np.ndarray
    optimal: bool
    bound: float | None  # bound on the freed lines' cost, in money units
    deterministic_time: float  # CP-SAT's, plus building the model (`BUILD_DET_PER_OPTION`)


BUILD_DET_PER_OPTION = 6e-6
"""Deterministic time charged per option variable built, which CP-SAT's own count leaves out: Python builds
about 55,000 a second here, and a second of limit is worth 0.3 units (`solve.DET_PER_SECOND`). Without it a
deterministic solve of a small table ran LNS rounds of 0.0001 units each until the clock stopped it, at ten
times its limit."""


def cost_scale(t: OptionTable) -> int:
    """1 when every cost is integral (benchmarks), else cents."""
    integral = bool(np.all(np.abs(t.opt_cost - np.round(t.opt_cost)) < 1e-9)) and float(t.unassigned_cost).is_integer()
    return 1 if integral else 100


def solve_subproblem(
    t: OptionTable,
    choice: np.ndarray,
    free: np.ndarray,
    *,
    det_time: float,
    max_time: float,
    seed: int,
    workers: int,
    lower_bound: float | None = None,
    allowed: np.ndarray | None = None,
) -> SubResult:
    """Re-optimise the ``free`` lines, hinted with ``choice``. ``lower_bound`` (on the whole plan, valid for the
    complete problem) is added as a constraint on the objective when every line is free: it prunes the search.
    ``allowed`` (per option) leaves out options no better plan uses (reduced-cost fixing); the options of
    ``choice`` must be among those allowed."""
    free_mask = np.zeros(t.n_lines, dtype=bool)
    free_mask[free] = True
    res = residual_capacity(t, choice, skip=free_mask)
    scale = cost_scale(t)
    model = cp_model.CpModel()
    option_vars: list[tuple[int, cp_model.IntVar]] = []
    bucket_terms: dict[int, list[tuple[cp_model.IntVar, int]]] = {}
    objective: list[tuple[cp_model.IntVar, int]] = []
    es, eb, em = t.ent_start, t.ent_bucket, t.ent_minutes
    un_cost = int(np.floor(t.unassigned_cost * scale))
    for line in free.tolist():
        lits = []
        for o in range(int(t.line_start[line]), int(t.line_start[line + 1])):
            ents = range(int(es[o]), int(es[o + 1]))
            if allowed is not None and not allowed[o]:
                continue
            if any(em[k] > res[eb[k]] for k in ents):
                continue
            x = model.new_bool_var("")
            lits.append(x)
            option_vars.append((o, x))
            model.add_hint(x, int(choice[line]) == o)
            objective.append((x, int(np.floor(t.opt_cost[o] * scale + 1e-9))))
            for k in ents:
                bucket_terms.setdefault(int(eb[k]), []).append((x, int(em[k])))
        u = model.new_bool_var("")
        model.add_hint(u, int(choice[line]) < 0)
        objective.append((u, un_cost))
        model.add_exactly_one([*lits, u])
    for b, terms in bucket_terms.items():
        if sum(m for _, m in terms) > res[b]:
            model.add(cp_model.LinearExpr.weighted_sum([x for x, _ in terms], [m for _, m in terms]) <= int(res[b]))
    total = cp_model.LinearExpr.weighted_sum([x for x, _ in objective], [c for _, c in objective])
    if lower_bound is not None and np.isfinite(lower_bound) and len(free) == t.n_lines:
        model.add(total >= int(np.floor(lower_bound * scale + 1e-6)))
    model.minimize(total)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = det_time
    solver.parameters.max_time_in_seconds = max(max_time, 0.01)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    work = solver.deterministic_time + BUILD_DET_PER_OPTION * len(option_vars)
    out = choice.copy()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SubResult(out, False, None, work)
    out[free] = -1
    for o, x in option_vars:
        if solver.boolean_value(x):
            out[t.opt_line[o]] = o
    return SubResult(out, status == cp_model.OPTIMAL, solver.best_objective_bound / scale, work)
