"""Fast primal heuristics on the option table: a regret greedy guided by Lagrangian prices and a shift pass.

They give the first plan in well under a second per 100,000 lines and the hint every CP-SAT solve starts from.
A choice is an array with one option index per line, or -1 for a line left unassigned.
"""

from __future__ import annotations

import math
import time

import numpy as np

from meshfab.engines.routing.lagrangian import entry_option, ragged_arange, reduced_costs
from meshfab.engines.routing.options import OptionTable


def residual_capacity(t: OptionTable, choice: np.ndarray, skip: np.ndarray | None = None) -> np.ndarray:
    """Capacity left after the chosen options of all lines (but those flagged in ``skip``)."""
    used = choice >= 0 if skip is None else (choice >= 0) & ~skip
    chosen = choice[used]
    counts = np.diff(t.ent_start)[chosen]
    idx = np.repeat(t.ent_start[chosen], counts) + ragged_arange(counts)
    res = t.capacity.astype(np.int64).copy()
    np.subtract.at(res, t.ent_bucket[idx], t.ent_minutes[idx])
    return res


def plan_cost(t: OptionTable, choice: np.ndarray) -> float:
    assigned = choice >= 0
    return float(t.opt_cost[choice[assigned]].sum() + t.unassigned_cost * (~assigned).sum())


def greedy(t: OptionTable, lam: np.ndarray) -> np.ndarray:
    """Lines with most to lose go first, each to its cheapest option (in reduced cost) that still fits."""
    rc = reduced_costs(t, lam, entry_option(t))
    order = np.lexsort((rc, t.opt_line))
    ls = t.line_start
    sizes = np.diff(ls)
    first = np.where(sizes > 0, rc[order[np.minimum(ls[:-1], len(order) - 1)]] if len(order) else 0.0, np.inf)
    second_pos = np.minimum(ls[:-1] + 1, max(len(order) - 1, 0))
    second = np.where(sizes > 1, rc[order[second_pos]] if len(order) else 0.0, t.unassigned_cost)
    regret = second - first
    line_order = np.lexsort((np.arange(t.n_lines), -regret))
    res = t.capacity.astype(np.int64).tolist()
    es, eb, em = t.ent_start.tolist(), t.ent_bucket.tolist(), t.ent_minutes.tolist()
    order_l, ls_l = order.tolist(), ls.tolist()
    choice = [-1] * t.n_lines
    for line in line_order.tolist():
        for pos in range(ls_l[line], ls_l[line + 1]):
            o = order_l[pos]
            a, b = es[o], es[o + 1]
            if all(res[eb[k]] >= em[k] for k in range(a, b)):
                for k in range(a, b):
                    res[eb[k]] -= em[k]
                choice[line] = o
                break
    return np.array(choice, dtype=np.int64)


def shift_pass(t: OptionTable, choice: np.ndarray, deadline: float = math.inf) -> np.ndarray:
    """Move each line to a cheaper option with room, if any (one sweep, lines in index order, until ``deadline``)."""
    res = residual_capacity(t, choice).tolist()
    es, eb, em = t.ent_start.tolist(), t.ent_bucket.tolist(), t.ent_minutes.tolist()
    cost, ls = t.opt_cost.tolist(), t.line_start.tolist()
    out = choice.tolist()
    unassigned = t.unassigned_cost
    for line in range(t.n_lines):
        if line % 1024 == 0 and time.perf_counter() > deadline:
            break
        cur = out[line]
        cur_cost = cost[cur] if cur >= 0 else unassigned
        best, best_cost = -1, cur_cost - 1e-9
        for o in range(ls[line], ls[line + 1]):
            if cost[o] < best_cost:
                if cur >= 0:
                    for k in range(es[cur], es[cur + 1]):
                        res[eb[k]] += em[k]
                fits = all(res[eb[k]] >= em[k] for k in range(es[o], es[o + 1]))
                if cur >= 0:
                    for k in range(es[cur], es[cur + 1]):
                        res[eb[k]] -= em[k]
                if fits:
                    best, best_cost = o, cost[o]
        if best >= 0:
            if cur >= 0:
                for k in range(es[cur], es[cur + 1]):
                    res[eb[k]] += em[k]
            for k in range(es[best], es[best + 1]):
                res[eb[k]] -= em[k]
            out[line] = best
    return np.array(out, dtype=np.int64)
