"""Tabu search for option tables of generalised-assignment form (every option takes minutes from one bucket).

Such tables are a matrix: lines are jobs, buckets are agents, the option's cost and minutes are the entries.
CP-SAT alone stalls about 1 % above the optimum on the hard GAP classes (C, D) within a minute on two cores;
a tabu search that crosses infeasible plans gets much closer. Its parts, after Yagiura, Ibaraki & Glover (ejection
chains, path relinking) and Díaz & Fernández (tabu search with strategic oscillation):

* **Moves**: *shift* (one line to another bucket), *swap* (two lines exchange buckets) and *ejection chains*
  (line ``j`` takes line ``k``'s place, ``k`` goes to its best other bucket, or in three hops takes the place of
  a line ``l`` of a third bucket, which goes to its best other one). Every move is evaluated each iteration: the
  last hop is looked up in each line's best and second-best entry, and the three-hop continuation of each line
  is found once per iteration (n^2), so chains cost no more than swaps. On type D the two-hop chains took a third
  off the gap of shift and swap; three hops took d20100 from 0.99 % to 0.88 % above the optimum in equal time
  (mean of four seeds, one segment from the knapsack start).
* **Strategic oscillation**: excess minutes are allowed at a price per bucket that rises while that bucket is
  over capacity and falls while the plan is feasible, so the search keeps crossing the capacity boundary, where
  the good plans of tight instances lie.
* **Tabu lists** per (line, bucket) with a random tenure, and aspiration for moves to a new best feasible plan.
* **Feasible look-ahead**: while scanning, the cheapest *feasible* neighbour is noted whatever move is taken, so
  the good plans next to the capacity boundary are not missed while the penalties push the search across it.
* **Elite plans and path relinking**: the search runs in segments; the best feasible plan of each segment may
  enter a small elite set, and every later segment starts on the path between two elite plans (walking from one
  towards the other by the cheapest moves, and taking the best point of the middle part). The plans that good
  plans share are kept, the rest is searched again.

The inner loops are compiled (numba, cached on disk) and evaluate each move in constant time from the current
bucket loads, with no matrix rebuilt per iteration: about 10^4 iterations a second on a 20 x 100 table, each
scanning all its 22,000 shifts, swaps and chains (the numpy version managed a few thousand iterations of the
two-hop neighbourhood). With one worker the search runs a fixed number of iterations with a seeded generator
(deterministic), the clock being only a safety stop checked between segments (compiling, on the first use on a
machine, moves that stop back: it is not search time); with two, a second search with another seed runs on the
other core at the same time (the compiled loops release the GIL) and the better plan wins.

Unassigned is a dummy bucket without limit that costs the unassigned penalty.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numba import njit

from meshfab.engines.routing.options import OptionTable

MATRIX_LIMIT = 400_000  # lines x buckets up to which the dense search is used
STEP = 1.1  # penalty factor per iteration: up while a bucket is over capacity, down while the plan is feasible
FLOOR = 0.1  # lowest excess price, as a share of the start price: below it the search strays too far
TL, TH = 20, 8  # tabu tenure drawn in [n / TL, n / TH]
SEGMENT = 4_000  # iterations from one start (the first segment runs four times as long)
ELITE = 10  # elite plans kept for path relinking
FORBIDDEN = 1e18  # cost standing in for "no such option"


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


def iteration_work(g: GapForm) -> int:
    """Move evaluations per iteration (shifts, line pairs, chain continuations): what a fixed iteration budget is
    measured in."""
    m, n = g.cost.shape
    return m * n + n * (n - 1) + n * n


def tabu_search(
    g: GapForm, start: np.ndarray, iterations: int, deadline: float, seed: int, workers: int = 1
) -> np.ndarray | None:
    """Best feasible row vector found from ``start`` within ``iterations`` iterations per worker (None when no
    plan was feasible). ``start`` may exceed capacities: the penalties then push the search back to feasible plans.

    With several workers each runs its own search (seeds ``seed``, ``seed + 1``, ...) and the cheapest plan wins,
    the first seed on ties, so the result still depends only on the seed when the clock does not stop a search."""
    cost = np.where(np.isfinite(g.cost), g.cost, FORBIDDEN).astype(np.float64)
    load = g.load.astype(np.float64)
    cap = g.capacity.astype(np.float64)
    began = time.perf_counter()
    _compile(cost, load, cap)  # compiling (first use on a machine) is not search time: the stop moves by it
    args = (cost, load, cap, np.asarray(start, dtype=np.int64), iterations, deadline + time.perf_counter() - began)
    if workers <= 1:
        found = [_search(*args, seed)]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(lambda s: _search(*args, s), [seed + w for w in range(workers)]))
    feasible = [(c, w, rows) for w, (rows, c) in enumerate(found) if np.isfinite(c)]
    return min(feasible, key=lambda x: (x[0], x[1]))[2] if feasible else None


def _compile(cost: np.ndarray, load: np.ndarray, cap: np.ndarray) -> None:
    """Run the compiled kernels once on a tiny slice (compiles or loads them from the cache)."""
    small = np.zeros(min(2, cost.shape[1]), dtype=np.int64)
    _segment(cost[:, : len(small)], load[:, : len(small)], cap, small, np.ones(len(cap)), 1, 1, 2, STEP, 0.1, 1)
    _relink(cost[:, : len(small)], load[:, : len(small)], cap, np.ones(len(cap)), small, small, 1)


def _search(
    cost: np.ndarray, load: np.ndarray, cap: np.ndarray, start: np.ndarray, iterations: int, deadline: float, seed: int
) -> tuple[np.ndarray, float]:
    """One search: a long first segment from ``start``, then segments from relinked elite plans."""
    m, n = cost.shape
    rng = np.random.default_rng(seed)
    real = cost[:-1] < FORBIDDEN
    ratio = float(np.median(cost[:-1][real] / np.maximum(load[:-1][real], 1.0))) if real.any() else 1.0
    alpha = np.full(m, max(ratio, 1e-6))  # price of a minute of excess: what a minute costs, to start with
    floor = FLOOR * alpha[0]
    tenure_lo, tenure_hi = max(3, n // TL), max(6, n // TH)
    elite: list[tuple[float, np.ndarray]] = []
    a = start.copy()
    done, first = 0, True
    while done < iterations and time.perf_counter() < deadline:
        length = min(4 * SEGMENT if first else SEGMENT, iterations - done)
        rows, c = _segment(cost, load, cap, a, alpha, length, tenure_lo, tenure_hi, STEP, floor, _draw(rng))
        done += length
        if np.isfinite(c):
            _admit(elite, rows, c)
            first = False
        if len(elite) >= 2:
            i, j = rng.choice(len(elite), size=2, replace=False)
            a = _relink(cost, load, cap, alpha, elite[i][1], elite[j][1], _draw(rng))
        elif elite:
            a = elite[0][1].copy()
    if not elite:
        return start, np.inf
    c, rows = min(elite, key=lambda x: x[0])
    return rows, c


def _draw(rng: np.random.Generator) -> int:
    return int(rng.integers(1, 2**62))


def _admit(elite: list[tuple[float, np.ndarray]], rows: np.ndarray, c: float) -> None:
    """Keep ``rows`` among the elite unless it is already there or worse than every one of a full set."""
    if any(np.array_equal(rows, r) for _, r in elite):
        return
    if len(elite) < ELITE:
        elite.append((c, rows.copy()))
        return
    worst = max(range(len(elite)), key=lambda i: elite[i][0])
    if c < elite[worst][0]:
        elite[worst] = (c, rows.copy())


@njit(cache=True, nogil=True)
def _next(state: np.ndarray) -> int:
    """xorshift64: the search's only source of randomness, seeded by the caller."""
    x = state[0]
    x ^= (x << np.uint64(13)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(7)
    x ^= (x << np.uint64(17)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    state[0] = x
    return int(x >> np.uint64(11))


@njit(cache=True, nogil=True)
def _segment(
    cost: np.ndarray,
    load: np.ndarray,
    cap: np.ndarray,
    a: np.ndarray,
    alpha: np.ndarray,
    iterations: int,
    tenure_lo: int,
    tenure_hi: int,
    step: float,
    floor: float,
    seed: int,
) -> tuple[np.ndarray, float]:
    """``iterations`` tabu moves from the rows ``a`` (updated in place, as are the penalties ``alpha``); returns
    the best feasible rows met and their cost (inf when none was feasible).

    Each iteration takes the best non-tabu move of all shifts, swaps and two-hop ejection chains under the
    penalised cost (cost plus ``alpha`` times excess minutes per bucket), ties broken at random."""
    m, n = cost.shape
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) | np.uint64(1)
    used = np.zeros(m)
    total = 0.0
    for j in range(n):
        used[a[j]] += load[a[j], j]
        total += cost[a[j], j]
    excess = np.maximum(used - cap, 0.0)
    best = a.copy()
    best_cost = total if excess.sum() <= 1e-9 else np.inf
    tabu = np.zeros((m, n), dtype=np.int64)
    out = np.empty(n)  # penalty change when j leaves its row
    out_ex = np.empty(n)  # excess change when j leaves its row
    ins1 = np.empty(n)  # best cost + penalty of j entering another row (non-tabu), and that row
    row1 = np.empty(n, dtype=np.int64)
    ins2 = np.empty(n)  # second best, in another row
    row2 = np.empty(n, dtype=np.int64)
    gex1 = np.empty(n)  # excess change of those two entries
    gex2 = np.empty(n)
    cval = np.empty(n)  # best continuation of a chain through k: k into the row of l, l to its best other row
    cl = np.empty(n, dtype=np.int64)
    cr = np.empty(n, dtype=np.int64)
    for it in range(1, iterations + 1):
        ex_total = excess.sum()
        top = np.inf
        ties = 0
        kind, mj, mk, mr, ml = -1, -1, -1, -1, -1
        # the cheapest feasible neighbour, when cheaper than the best plan: recorded whatever the move taken
        found, fkind, fj, fk, fr = best_cost, -1, -1, -1, -1
        for j in range(n):
            p = a[j]
            left = max(used[p] - load[p, j] - cap[p], 0.0) - excess[p]
            out_ex[j] = left
            out[j] = alpha[p] * left
            b1, r1, b2, r2, e1, e2 = np.inf, -1, np.inf, -1, 0.0, 0.0
            for i in range(m):
                if i == p or cost[i, j] >= FORBIDDEN:
                    continue
                grow = max(used[i] + load[i, j] - cap[i], 0.0) - excess[i]
                enter = cost[i, j] + alpha[i] * grow
                if ex_total + left + grow <= 1e-9 and total + cost[i, j] - cost[p, j] < found - 1e-9:
                    found, fkind, fj, fr = total + cost[i, j] - cost[p, j], 0, j, i
                if tabu[i, j] > it:  # aspiration: a new best feasible plan
                    if ex_total + left + grow > 1e-9 or total + cost[i, j] - cost[p, j] >= best_cost - 1e-9:
                        continue
                elif enter < b1:
                    b2, r2, e2 = b1, r1, e1
                    b1, r1, e1 = enter, i, grow
                elif enter < b2:
                    b2, r2, e2 = enter, i, grow
                d = enter - cost[p, j] + out[j]
                if d < top - 1e-9:
                    top, ties, kind, mj, mr = d, 1, 0, j, i
                elif d <= top + 1e-9:
                    ties += 1
                    if _next(state) % ties == 0:
                        kind, mj, mr = 0, j, i
            ins1[j], row1[j], ins2[j], row2[j], gex1[j], gex2[j] = b1, r1, b2, r2, e1, e2
        for k in range(n):  # third hop: k takes l's place (l's row gains k, loses l), l goes to its best row
            q = a[k]
            bv, bl, br = np.inf, -1, -1
            for x in range(n):
                s = a[x]
                if s == q or cost[s, k] >= FORBIDDEN or tabu[s, k] > it:
                    continue
                r = row1[x] if row1[x] != q else row2[x]
                if r < 0:
                    continue
                e = ins1[x] if row1[x] != q else ins2[x]
                gs = max(used[s] + load[s, k] - load[s, x] - cap[s], 0.0) - excess[s]
                v = cost[s, k] + alpha[s] * gs - cost[s, x] + e
                if v < bv:
                    bv, bl, br = v, x, r
            cval[k], cl[k], cr[k] = bv, bl, br
        for j in range(n):
            p = a[j]
            for k in range(j + 1, n):
                q = a[k]
                if p == q:
                    continue
                fjq = cost[q, j] < FORBIDDEN
                fkp = cost[p, k] < FORBIDDEN
                if not (fjq or fkp):
                    continue
                jq = fjq and tabu[q, j] <= it
                kp = fkp and tabu[p, k] <= it
                # j into q in k's place, and k into p in j's place
                gq = max(used[q] + load[q, j] - load[q, k] - cap[q], 0.0) - excess[q]
                gp = max(used[p] + load[p, k] - load[p, j] - cap[p], 0.0) - excess[p]
                into_jk = cost[q, j] - cost[p, j] + alpha[q] * gq
                into_kj = cost[p, k] - cost[q, k] + alpha[p] * gp
                if ex_total + gq + gp <= 1e-9 and fjq and fkp:
                    c = total + cost[q, j] - cost[p, j] + cost[p, k] - cost[q, k]
                    if c < found - 1e-9:
                        found, fkind, fj, fk = c, 1, j, k
                if jq and kp:  # swap
                    d = into_jk + into_kj
                    if d < top - 1e-9:
                        top, ties, kind, mj, mk = d, 1, 1, j, k
                    elif d <= top + 1e-9:
                        ties += 1
                        if _next(state) % ties == 0:
                            kind, mj, mk = 1, j, k
                if jq:  # chain: j to q, k to its best row other than p and q
                    r = row1[k] if row1[k] != p else row2[k]
                    e = ins1[k] if row1[k] != p else ins2[k]
                    if r >= 0:
                        if ex_total + out_ex[j] + gq + (gex1[k] if row1[k] != p else gex2[k]) <= 1e-9:
                            c = total + cost[q, j] - cost[p, j] + cost[r, k] - cost[q, k]
                            if c < found - 1e-9:
                                found, fkind, fj, fk, fr = c, 2, j, k, r
                        if cl[k] >= 0 and a[cl[k]] != p and cr[k] != p:  # three hops: k on to l's row
                            d = into_jk + out[j] + cval[k] - cost[q, k]
                            if d < top - 1e-9:
                                top, ties, kind, mj, mk, mr, ml = d, 1, 3, j, k, cr[k], cl[k]
                        d = into_jk + out[j] + e - cost[q, k]
                        if d < top - 1e-9:
                            top, ties, kind, mj, mk, mr = d, 1, 2, j, k, r
                        elif d <= top + 1e-9:
                            ties += 1
                            if _next(state) % ties == 0:
                                kind, mj, mk, mr = 2, j, k, r
                if kp:  # chain: k to p, j to its best row other than q and p
                    r = row1[j] if row1[j] != q else row2[j]
                    e = ins1[j] if row1[j] != q else ins2[j]
                    if r >= 0:
                        if ex_total + out_ex[k] + gp + (gex1[j] if row1[j] != q else gex2[j]) <= 1e-9:
                            c = total + cost[p, k] - cost[q, k] + cost[r, j] - cost[p, j]
                            if c < found - 1e-9:
                                found, fkind, fj, fk, fr = c, 2, k, j, r
                        if cl[j] >= 0 and a[cl[j]] != q and cr[j] != q:
                            d = into_kj + out[k] + cval[j] - cost[p, j]
                            if d < top - 1e-9:
                                top, ties, kind, mj, mk, mr, ml = d, 1, 3, k, j, cr[j], cl[j]
                        d = into_kj + out[k] + e - cost[p, j]
                        if d < top - 1e-9:
                            top, ties, kind, mj, mk, mr = d, 1, 2, k, j, r
                        elif d <= top + 1e-9:
                            ties += 1
                            if _next(state) % ties == 0:
                                kind, mj, mk, mr = 2, k, j, r
        if fkind >= 0:  # a new best plan one move away
            best[:] = a
            if fkind == 0:
                best[fj] = fr
            elif fkind == 1:
                best[fj], best[fk] = a[fk], a[fj]
            else:
                best[fj], best[fk] = a[fk], fr
            best_cost = found
        if kind < 0:  # everything tabu: forget the lists
            tabu[:, :] = 0
            continue
        # apply: (line, new row) pairs; in a chain mj takes mk's row and mk goes to mr, or in three hops to the
        # row of ml, which goes to mr
        n_moves = 1 if kind == 0 else (3 if kind == 3 else 2)
        p_old = a[mj]
        for hop in range(n_moves):
            if kind == 0:
                ln, to = mj, mr
            elif kind == 1:
                ln, to = (mj, a[mk]) if hop == 0 else (mk, p_old)
            elif kind == 2:
                ln, to = (mj, a[mk]) if hop == 0 else (mk, mr)
            elif hop < 2:
                ln, to = (mj, a[mk]) if hop == 0 else (mk, a[ml])
            else:
                ln, to = ml, mr
            old = a[ln]
            used[old] -= load[old, ln]
            used[to] += load[to, ln]
            total += cost[to, ln] - cost[old, ln]
            tabu[old, ln] = it + tenure_lo + _next(state) % (tenure_hi - tenure_lo + 1)
            a[ln] = to
            excess[old] = max(used[old] - cap[old], 0.0)
            excess[to] = max(used[to] - cap[to], 0.0)
        if excess.sum() <= 1e-9:
            if total < best_cost - 1e-9:
                best_cost = total
                best[:] = a
            for i in range(m):
                alpha[i] = max(alpha[i] / step, floor)
        else:  # only the buckets over capacity get dearer
            for i in range(m):
                if excess[i] > 1e-9:
                    alpha[i] = min(alpha[i] * step, 1e9)
    return best, best_cost


@njit(cache=True, nogil=True)
def _relink(
    cost: np.ndarray,
    load: np.ndarray,
    cap: np.ndarray,
    alpha: np.ndarray,
    source: np.ndarray,
    guide: np.ndarray,
    seed: int,
) -> np.ndarray:
    """A start on the path from ``source`` to ``guide``: lines move one at a time to their row in ``guide``, the
    cheapest move (penalised cost) first, and the best point of the middle half of the path is returned. When the
    two differ in only a few lines, ``source`` with a few random lines moved instead."""
    m, n = cost.shape
    state = np.empty(1, dtype=np.uint64)
    state[0] = np.uint64(seed) | np.uint64(1)
    a = source.copy()
    used = np.zeros(m)
    for j in range(n):
        used[a[j]] += load[a[j], j]
    differ = np.nonzero(a != guide)[0]
    d = len(differ)
    if d < 4:
        for _ in range(max(2, n // 20)):
            j = _next(state) % n
            i = _next(state) % m
            if cost[i, j] < FORBIDDEN:
                used[a[j]] -= load[a[j], j]
                a[j] = i
                used[i] += load[i, j]
        return a
    best = a.copy()
    best_f = np.inf
    f = 0.0
    left = np.ones(d, dtype=np.bool_)
    for step in range(1, d - d // 4 + 1):
        top, pick, ties = np.inf, -1, 0
        for x in range(d):
            if not left[x]:
                continue
            j = differ[x]
            p, i = a[j], guide[j]
            dp = max(used[p] - load[p, j] - cap[p], 0.0) - max(used[p] - cap[p], 0.0)
            di = max(used[i] + load[i, j] - cap[i], 0.0) - max(used[i] - cap[i], 0.0)
            delta = cost[i, j] - cost[p, j] + alpha[p] * dp + alpha[i] * di
            if delta < top - 1e-9:
                top, pick, ties = delta, x, 1
            elif delta <= top + 1e-9:
                ties += 1
                if _next(state) % ties == 0:
                    pick = x
        j = differ[pick]
        left[pick] = False
        used[a[j]] -= load[a[j], j]
        a[j] = guide[j]
        used[a[j]] += load[a[j], j]
        f += top
        if step >= d // 4 and f < best_f:
            best_f = f
            best[:] = a
    return best
