"""Lagrangian relaxation of the bucket capacities: a lower bound and prices for the greedy.

Relaxing ``sum of minutes <= capacity`` with multipliers ``lam >= 0`` per bucket leaves one independent choice per
line: its option of least reduced cost ``cost + sum(lam x minutes)`` (or giving up, or the cheapest option left
out of the table, whose reduced cost is at least its cost because ``lam >= 0``). For any ``lam`` the sum of
those minima minus ``lam . capacity`` is a valid lower bound on the full problem; subgradient steps (Polyak's
rule towards the best known plan) raise it. The same prices tell the greedy which buckets are scarce.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from meshfab.engines.routing.options import OptionTable


@dataclass(frozen=True)
class LagrangeState:
    multipliers: np.ndarray
    bound: float


def entry_option(t: OptionTable) -> np.ndarray:
    return np.repeat(np.arange(len(t.opt_line)), np.diff(t.ent_start))


def reduced_costs(t: OptionTable, lam: np.ndarray, ent_opt: np.ndarray) -> np.ndarray:
    extra = np.bincount(ent_opt, weights=lam[t.ent_bucket] * t.ent_minutes, minlength=len(t.opt_line))
    return t.opt_cost + extra


def _line_minima(t: OptionTable, rc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least reduced cost per line (inf without options) and the option reaching it (-1 without options)."""
    n = t.n_lines
    best = np.full(n, np.inf)
    arg = np.full(n, -1, dtype=np.int64)
    nonempty = np.nonzero(np.diff(t.line_start) > 0)[0]
    if len(nonempty):
        starts = t.line_start[nonempty]
        best[nonempty] = np.minimum.reduceat(rc, starts)
        is_min = rc <= best[t.opt_line]
        first = np.unique(t.opt_line[is_min], return_index=True)
        arg[first[0]] = np.nonzero(is_min)[0][first[1]]
    return best, arg


def evaluate(t: OptionTable, lam: np.ndarray, ent_opt: np.ndarray) -> tuple[float, np.ndarray]:
    """Lower bound for ``lam`` and the subgradient (minutes used minus capacity per bucket)."""
    rc = reduced_costs(t, lam, ent_opt)
    best, arg = _line_minima(t, rc)
    outside = np.minimum(t.line_floor, t.unassigned_cost)
    uses_option = best < outside
    bound = float(np.minimum(best, outside).sum() - lam @ t.capacity)
    chosen = arg[uses_option]
    usage = np.zeros(len(t.capacity))
    if len(chosen):
        counts = np.diff(t.ent_start)[chosen]
        idx = np.repeat(t.ent_start[chosen], counts) + ragged_arange(counts)
        np.add.at(usage, t.ent_bucket[idx], t.ent_minutes[idx])
    return bound, usage - t.capacity


def ragged_arange(counts: np.ndarray) -> np.ndarray:
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def subgradient(
    t: OptionTable, upper: float, iterations: int, lam: np.ndarray | None = None, deadline: float = math.inf
) -> LagrangeState:
    """Raise the bound for a fixed number of steps (deterministic; ``deadline`` is only a safety stop)."""
    ent_opt = entry_option(t)
    lam = np.zeros(len(t.capacity)) if lam is None else lam.copy()
    best_lam, best_bound = lam.copy(), -np.inf
    theta, stall = 1.0, 0
    for _ in range(iterations):
        if time.perf_counter() > deadline and best_bound > -np.inf:
            break
        bound, g = evaluate(t, lam, ent_opt)
        if bound > best_bound + 1e-9:
            best_bound, best_lam, stall = bound, lam.copy(), 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2, 0
        g = np.where((lam <= 0) & (g < 0), 0.0, g)
        norm = float(g @ g)
        if norm <= 0 or theta < 1e-4:
            break
        lam = np.maximum(0.0, lam + theta * max(upper - bound, 1e-6) / norm * g)
    if iterations <= 0:
        best_bound, _ = evaluate(t, lam, ent_opt)
    return LagrangeState(best_lam, best_bound)
