"""Tabu search for option tables of generalised-assignment form (every option takes minutes from one bucket).

Such tables are a matrix: lines are jobs, buckets are agents, the option's cost and minutes are the entries.
CP-SAT alone stalls about 1 % above the optimum on the hard GAP classes (C, D) within a minute on two cores;
a tabu search over *shift* (one line to another bucket), *swap* (two lines exchange buckets) and *ejection
chain* moves (line l takes line k's place, k goes to its best other bucket; after Yagiura, Ibaraki & Glover),
which crosses infeasible plans with an adaptive penalty on excess minutes (strategic oscillation), gets much
closer: on type D the chains alone took a third off the gap of shift and swap. Every neighbourhood is evaluated
at once with numpy (the chain's second hop is each line's best and second-best bucket, so chains cost no more
than swaps), so one iteration costs a few array operations.

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


def tabu_search(g: GapForm, start: np.ndarray, iterations: int, deadline: float, seed: int) -> np.ndarray | None:
    """Best feasible row vector found from ``start`` within ``iterations`` moves (None when none was feasible).

    ``start`` may exceed capacities: the penalties then push the search back to feasible plans."""
    rng = np.random.default_rng(seed)
    m, n = g.cost.shape
    cols = np.arange(n)
    cost = np.where(np.isfinite(g.cost), g.cost, 1e18)
    cap = g.capacity.astype(float)
    load_f = g.load.astype(float)
    a = start.copy()
    used = np.bincount(a, weights=load_f[a, cols], minlength=m)
    best, best_cost = a.copy(), (float(cost[a, cols].sum()) if np.all(used <= cap + 1e-9) else np.inf)
    alpha = np.full(m, max(1.0, float(np.median(cost[:-1][np.isfinite(g.cost[:-1])]) if n else 1.0)))
    tabu = np.zeros((m, n), dtype=np.int64)  # iteration until which line l may not return to row b
    tenure_lo, tenure_hi = max(3, n // TL), max(6, n // TH)
    later = np.tril(np.ones((n, n), dtype=bool))  # a swap is counted once, as (l, k) with l < k
    since = 0
    for it in range(1, iterations + 1):
        if it % 64 == 0 and time.perf_counter() > deadline:
            break
        cur = cost[a, cols]
        wcur = load_f[a, cols]
        excess = np.maximum(used - cap, 0.0)
        ex_a, cap_a, used_a, alpha_a = excess[a], cap[a], used[a], alpha[a]
        # ins[b, l]: line l enters row b (cost and that row's penalty); out[l]: l leaves its row
        ins = (
            cost
            - cur[None, :]
            + alpha[:, None] * (np.maximum(used[:, None] + load_f - cap[:, None], 0.0) - excess[:, None])
        )
        out = alpha_a * (np.maximum(used_a - wcur - cap_a, 0.0) - ex_a)
        ins = np.where(tabu <= it, ins, np.inf)
        ins[a, cols] = np.inf
        shift = ins + out[None, :]
        # into[l, k]: l takes k's place in k's row (k's row gains l and loses k)
        into = (
            cost[a, :].T
            - cur[:, None]
            + alpha_a[None, :]
            * (np.maximum(used_a[None, :] - wcur[None, :] + load_f[a, :].T - cap_a[None, :], 0.0) - ex_a[None, :])
        )
        into[(tabu[a[None, :], cols[:, None]] > it) | (a[:, None] == a[None, :])] = np.inf
        swap = into + into.T
        swap[later] = np.inf
        # ejection chain: l -> row of k, k -> its best other row (not l's row: that is the swap)
        two = np.argpartition(ins, 1, axis=0)[:2] if m > 2 else np.argsort(ins, axis=0)[:2]
        v2 = ins[two, cols[None, :]]
        order = np.argsort(v2, axis=0, kind="stable")
        two, v2 = np.take_along_axis(two, order, 0), np.take_along_axis(v2, order, 0)
        first_is_mine = two[0][None, :] == a[:, None]  # [l, k]: k's best row is l's row
        chain = into + out[:, None] + np.where(first_is_mine, v2[1][None, :], v2[0][None, :])
        s_best, w_best, c_best = float(shift.min()), float(swap.min()), float(chain.min())
        top = min(s_best, w_best, c_best)
        if not np.isfinite(top):
            tabu[:] = 0
            continue
        noise = rng.random()
        if s_best <= top:
            flat = np.flatnonzero(shift <= s_best + 1e-9)
            b, ln = divmod(int(flat[int(noise * len(flat))]), n)
            moves = [(ln, b)]
        elif w_best <= top:
            flat = np.flatnonzero(swap <= w_best + 1e-9)
            ln, k = divmod(int(flat[int(noise * len(flat))]), n)
            moves = [(ln, int(a[k])), (k, int(a[ln]))]
        else:
            flat = np.flatnonzero(chain <= c_best + 1e-9)
            ln, k = divmod(int(flat[int(noise * len(flat))]), n)
            moves = [(ln, int(a[k])), (k, int(two[1, k] if two[0, k] == a[ln] else two[0, k]))]
        for ln, b in moves:
            old = int(a[ln])
            used[old] -= load_f[old, ln]
            tabu[old, ln] = it + int(rng.integers(tenure_lo, tenure_hi + 1))
            a[ln] = b
            used[b] += load_f[b, ln]
        if bool(np.all(used <= cap + 1e-9)):
            total = float(cost[a, cols].sum())
            if total < best_cost - 1e-9:
                best, best_cost, since = a.copy(), total, -1
            alpha = np.maximum(alpha / STEP, 1e-3)
        else:  # only the buckets over capacity get dearer
            over = used > cap + 1e-9
            alpha[over] = np.minimum(alpha[over] * STEP, 1e9)
        since += 1
        if since >= RESTART and np.isfinite(best_cost):  # intensify: back to the best plan, fresh tabu lists
            a = best.copy()
            used = np.bincount(a, weights=load_f[a, cols], minlength=m)
            tabu[:] = 0
            since = 0
    return best if np.isfinite(best_cost) else None
