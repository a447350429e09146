"""Tabu search for option tables of generalised-assignment form (every option takes minutes from one bucket).

Such tables are a matrix: lines are jobs, buckets are agents, the option's cost and minutes are the entries.
CP-SAT alone stalls about 1 % above the optimum on the hard GAP classes (C, D) within a minute on two cores;
a tabu search over *shift* (one line to another bucket) and *swap* (two lines exchange buckets) moves, which
crosses infeasible plans with an adaptive penalty on excess minutes (strategic oscillation), gets much closer.
Every neighbourhood is evaluated at once with numpy, so one iteration costs a few array operations.

Unassigned is a dummy bucket without limit that costs the unassigned penalty. The search runs a fixed number of
iterations (deterministic), the clock being only a safety stop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from meshfab.engines.routing.options import OptionTable

MATRIX_LIMIT = 400_000  # lines x buckets up to which the dense search is used
STEP = 1.1  # penalty factor per iteration: up while infeasible, down while feasible
TL, TH = 20, 8
RESTART = 2_000  # iterations without a new best before going back to the best plan


@dataclass(frozen=True)
class GapForm:
    """Dense view of a single-bucket option table: ``cost[b, l]`` (inf when there is no such option)."""

    buckets: np.ndarray  # bucket index of each agent row (the last row is the dummy "unassigned")
    cost: np.ndarray
    load: np.ndarray
    capacity: np.ndarray
    option: np.ndarray  # option index of (agent, line), -1 when none


def gap_form(t: OptionTable) -> GapForm | None:
    """The dense matrix view, or None when an option touches several buckets or the matrix would be too big."""
    if len(t.opt_line) == 0 or not np.all(np.diff(t.ent_start) == 1):
        return None
    ob = t.ent_bucket[t.ent_start[:-1]]
    buckets = np.unique(ob)
    if (len(buckets) + 1) * t.n_lines > MATRIX_LIMIT:
        return None
    row = np.searchsorted(buckets, ob)
    m, n = len(buckets) + 1, t.n_lines
    option = np.full((m, n), -1, dtype=np.int64)
    if np.any(np.bincount(row * n + t.opt_line, minlength=m * n) > 1):
        return None  # two options of one line in one bucket: not a matrix
    option[row, t.opt_line] = np.arange(len(t.opt_line))
    cost = np.full((m, n), np.inf)
    cost[row, t.opt_line] = t.opt_cost
    cost[-1, :] = t.unassigned_cost
    load = np.zeros((m, n), dtype=np.int64)
    load[row, t.opt_line] = t.ent_minutes
    capacity = np.append(t.capacity[buckets], np.iinfo(np.int64).max // 4)
    return GapForm(buckets, cost, load, capacity, option)


def to_rows(g: GapForm, choice: np.ndarray) -> np.ndarray:
    rows = np.full(len(choice), len(g.buckets), dtype=np.int64)
    has = choice >= 0
    cols = np.nonzero(has)[0]
    rows[has] = np.argmax(g.option[:, cols] == choice[has][None, :], axis=0)
    return rows


def to_choice(g: GapForm, rows: np.ndarray) -> np.ndarray:
    return g.option[rows, np.arange(len(rows))]


def tabu_search(g: GapForm, start: np.ndarray, iterations: int, deadline: float, seed: int) -> np.ndarray:
    """Best feasible row vector found from ``start`` (itself feasible) within ``iterations`` moves."""
    rng = np.random.default_rng(seed)
    m, n = g.cost.shape
    cols = np.arange(n)
    cost = np.where(np.isfinite(g.cost), g.cost, 1e18)
    cap = g.capacity.astype(float)
    load_f = g.load.astype(float)
    a = start.copy()
    used = np.bincount(a, weights=load_f[a, cols], minlength=m)
    best, best_cost = a.copy(), float(cost[a, cols].sum())
    alpha = np.full(m, max(1.0, float(np.median(cost[:-1][np.isfinite(g.cost[:-1])]) if n else 1.0)))
    tabu = np.zeros((m, n), dtype=np.int64)  # iteration until which line l may not return to row b
    tenure_lo, tenure_hi = max(3, n // TL), max(6, n // TH)
    since, last_best = 0, best_cost
    for it in range(1, iterations + 1):
        if it % 64 == 0 and time.perf_counter() > deadline:
            break
        cur = cost[a, cols]
        wcur = load_f[a, cols]
        excess = np.maximum(used - cap, 0.0)
        # shift: line l from row a[l] to row b
        up = np.maximum(used[:, None] + load_f - cap[:, None], 0.0) - excess[:, None]
        down = np.maximum(used[a] - wcur - cap[a], 0.0) - excess[a]
        d_cost = cost - cur[None, :]
        shift = d_cost + alpha[:, None] * up + (alpha[a] * down)[None, :]
        shift[a, cols] = np.inf
        allowed = tabu <= it
        obj = float(cur.sum())
        pen_now = float(excess.sum())
        aspire = (obj + d_cost < best_cost - 1e-9) & (pen_now + up + down[None, :] <= 1e-9)
        shift = np.where(allowed | aspire, shift, np.inf)
        # swap: l to a[k], k to a[l]
        ca = cost[a, :]  # ca[l, k] = cost of line k in the row of line l
        wa = load_f[a, :]
        sw_cost = ca.T + ca - cur[:, None] - cur[None, :]
        new_p = used[a][:, None] - wcur[:, None] + wa  # row of l gets k
        new_q = used[a][None, :] - wcur[None, :] + wa.T  # row of k gets l
        sw_pen = (
            np.maximum(new_p - cap[a][:, None], 0.0)
            - excess[a][:, None]
            + np.maximum(new_q - cap[a][None, :], 0.0)
            - excess[a][None, :]
        )
        swap = sw_cost + (alpha[a][:, None] * (np.maximum(new_p - cap[a][:, None], 0.0) - excess[a][:, None])
                          + alpha[a][None, :] * (np.maximum(new_q - cap[a][None, :], 0.0) - excess[a][None, :]))
        same = a[:, None] == a[None, :]
        ok = ~same & np.triu(np.ones((n, n), dtype=bool), 1)
        ok &= (tabu[a[None, :], cols[:, None]] <= it) & (tabu[a[:, None], cols[None, :]] <= it) | (
            (obj + sw_cost < best_cost - 1e-9) & (pen_now + sw_pen <= 1e-9)
        )
        swap = np.where(ok, swap, np.inf)
        s_best = float(shift.min())
        w_best = float(swap.min()) if n > 1 else np.inf
        if not np.isfinite(min(s_best, w_best)):
            tabu[:] = 0
            continue
        noise = rng.random()
        if s_best <= w_best:
            flat = np.flatnonzero(shift <= s_best + 1e-9)
            b, ln = divmod(int(flat[int(noise * len(flat))]), n)
            moves = [(ln, b)]
        else:
            flat = np.flatnonzero(swap <= w_best + 1e-9)
            ln, k = divmod(int(flat[int(noise * len(flat))]), n)
            moves = [(ln, int(a[k])), (k, int(a[ln]))]
        for ln, b in moves:
            old = int(a[ln])
            used[old] -= load_f[old, ln]
            tabu[old, ln] = it + int(rng.integers(tenure_lo, tenure_hi + 1))
            a[ln] = b
            used[b] += load_f[b, ln]
        feasible = bool(np.all(used <= cap + 1e-9))
        if feasible:
            total = float(cost[a, cols].sum())
            if total < best_cost - 1e-9:
                best, best_cost = a.copy(), total
            alpha = np.maximum(alpha / STEP, 1e-3)
        else:  # only the buckets over capacity get dearer
            over = used > cap + 1e-9
            alpha[over] = np.minimum(alpha[over] * STEP, 1e9)
        since = 0 if best_cost < last_best else since + 1
        last_best = best_cost
        if since >= RESTART:  # intensify: back to the best plan, with fresh tabu lists
            a = best.copy()
            used = np.bincount(a, weights=load_f[a, cols], minlength=m)
            tabu[:] = 0
            since = 0
    return best
