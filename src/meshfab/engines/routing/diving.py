"""Column generation and diving for option tables of generalised-assignment form (:class:`.GapForm`).

Why: the tabu search of :mod:`.tabu` stalls on the tight GAP classes (type D with many buckets per line: d20100
about 0.6 % above the optimum after a minute), and no small exact neighbourhood moves it. The set-partitioning
reformulation does: a *column* is the set of lines one bucket takes, the master LP picks a convex mix of columns
per bucket that covers every line once, and its bound is the knapsack bound of :mod:`.knapsack` (0.15 % below
the optimum on d20100, against 0.3 % for the plain LP). Diving turns that LP into plans, as in the primal
heuristics of branch-and-price (Sadykov, Vanderbeck, Pessoa, Tahiri & Uchoa, 2019):

* **Pricing** is one 0-1 knapsack per bucket over the line duals (dynamic programming, compiled); a bucket's
  best knapsack also gives the Lagrangian bound of the node, which the search uses to prune.
* **Stabilisation**: duals are smoothed towards the best Lagrangian prices so far (Wentges), starting from the
  knapsack relaxation's prices; without it the master needs hundreds more iterations to settle.
* **Diving**: at each node, columns at 1 in the LP are fixed at once, otherwise the column nearest to 1; the
  problem left (buckets and lines not yet fixed) is priced again, new columns included, and so on down until
  the LP is integral. A *limited discrepancy search* also tries the next few columns at the top levels (each
  tried one forbidden in its siblings), in passes of widening discrepancy while time remains; the best plan so
  far prunes every node whose bound reaches it. On d20100 the first pass finds 6194 (0.15 % above the
  optimum) in about 6 s, on d10100 6357 (0.16 %) in about 9 s; all passes (some 5 minutes) reach 6186 and 6348.

Lines unassigned are the dummy row's artificial columns, priced below the unassigned cost so the master stays
well conditioned (a cheaper artificial only lowers the bound, which stays valid); a dive whose LP still needs
them is abandoned. With no clock stop the result depends only on the inputs (one thread; ties between columns
are broken by the order they were generated in).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit
from ortools.math_opt import parameters_pb2, result_pb2, sparse_containers_pb2
from ortools.math_opt.core.python import solver as core_solver
from ortools.math_opt.python import mathopt

from meshfab.engines.routing.tabu import FORBIDDEN, GapForm

PASSES = ((2, 3), (3, 5), (2, 8), (3, 8), (4, 10))  # (discrepancies, depth they may be used to) per pass
SMOOTHING = 0.6  # weight of the best Lagrangian prices in the duals priced (Wentges smoothing)
NODE_ITERATIONS = 300  # column-generation rounds per node at most
CONVERGED = 1e-4  # relative gap between the master LP and the node's Lagrangian bound that ends a node
ARTIFICIAL_FACTOR = 10.0  # artificial column cost, in units of the dearest real option


@njit(cache=True, nogil=True)
def knapsack(profit: np.ndarray, load: np.ndarray, capacity: int) -> tuple[float, np.ndarray]:
    """Best total profit of lines within ``capacity`` minutes, and which lines (only positive profits count)."""
    n = len(profit)
    value = np.zeros(capacity + 1)
    took = np.zeros((n, capacity + 1), dtype=np.bool_)
    for j in range(n):
        p = profit[j]
        w = load[j]
        if p <= 0 or w > capacity:
            continue
        for c in range(capacity, w - 1, -1):
            v = value[c - w] + p
            if v > value[c]:
                value[c] = v
                took[j, c] = True
    take = np.zeros(n, dtype=np.bool_)
    c = capacity
    for j in range(n - 1, -1, -1):
        if took[j, c]:
            take[j] = True
            c -= load[j]
    return value[capacity], take


class _Master:
    """The restricted master LP: one variable per column, one row per line and per bucket. GLOP is kept between
    solves through MathOpt's incremental interface, so new columns and bounds go in as updates, not a new model
    (about 5 ms a solve on d20100, against 5.7 ms through pywraplp)."""

    def __init__(self, cost: np.ndarray, artificial: np.ndarray) -> None:
        self.cost = cost
        m, n = cost.shape
        self.model = mathopt.Model()
        self.cover = [self.model.add_linear_constraint(lb=1.0, ub=1.0) for _ in range(n)]
        self.convexity = [self.model.add_linear_constraint(ub=1.0) for _ in range(m)]
        for j in range(n):  # the artificial columns come first: variable ids 0..n-1
            v = self.model.add_variable(lb=0.0, ub=1.0)
            self.model.objective.set_linear_coefficient(v, float(artificial[j]))
            self.cover[j].set_coefficient(v, 1.0)
        self.rows: list[int] = []
        self.lines: list[np.ndarray] = []
        self.vars: list[mathopt.Variable] = []
        self._seen: set[tuple[int, bytes]] = set()
        self._tracker = self.model.add_update_tracker()
        self._solver = core_solver.new(
            mathopt.SolverType.GLOP.value, self.model.export_model(), parameters_pb2.SolverInitializerProto()
        )
        self._values = np.zeros(0)

    def add(self, row: int, lines: np.ndarray) -> bool:
        key = (row, lines.tobytes())
        if key in self._seen or not lines.any():
            return False
        self._seen.add(key)
        v = self.model.add_variable(lb=0.0, ub=1.0)
        members = np.nonzero(lines)[0]
        self.model.objective.set_linear_coefficient(v, float(self.cost[row, members].sum()))
        for j in members.tolist():
            self.cover[j].set_coefficient(v, 1.0)
        self.convexity[row].set_coefficient(v, 1.0)
        self.rows.append(row)
        self.lines.append(lines.copy())
        self.vars.append(v)
        return True

    def fix(self, k: int, lower: float, upper: float) -> None:
        self.vars[k].lower_bound = lower
        self.vars[k].upper_bound = upper

    def solve(self) -> tuple[float, np.ndarray, np.ndarray] | None:
        """Solve from the last basis. The result is read straight from its protocol buffer: MathOpt's own result
        object also decodes the whole basis, which took longer than the solve itself."""
        update = self._tracker.export_update()
        if update is not None:
            if not self._solver.update(update):
                self._solver = core_solver.new(
                    mathopt.SolverType.GLOP.value, self.model.export_model(), parameters_pb2.SolverInitializerProto()
                )
            self._tracker.advance_checkpoint()
        proto = self._solver.solve(
            _PARAMS,
            mathopt.ModelSolveParameters().to_proto(),
            None,
            mathopt.CallbackRegistration().to_proto(),
            None,
            None,
        )
        if proto.termination.reason != result_pb2.TERMINATION_REASON_OPTIMAL or not proto.solutions:
            return None
        solution = proto.solutions[0]
        n, m = len(self.cover), len(self.convexity)
        duals = _dense(solution.dual_solution.dual_values, n + m)
        self._values = _dense(solution.primal_solution.variable_values, n + len(self.vars))
        return solution.primal_solution.objective_value, duals[:n], duals[n:]

    def values(self) -> np.ndarray:
        return self._values[len(self.cover) :]

    def artificial_use(self) -> float:
        return float(self._values[: len(self.cover)].sum())


_PARAMS = mathopt.SolveParameters().to_proto()  # GLOP defaults: with presolve off (warm starts) it ran slower


def _dense(vector: sparse_containers_pb2.SparseDoubleVectorProto, size: int) -> np.ndarray:
    """A sparse vector of the result as a dense array indexed by id (ids are given in creation order)."""
    out = np.zeros(size)
    out[np.asarray(vector.ids, dtype=np.int64)] = np.asarray(vector.values)
    return out


@dataclass
class _Dive:
    master: _Master
    load: np.ndarray
    capacity: np.ndarray
    artificial: np.ndarray
    deadline: float
    integral: bool
    best: float = math.inf
    plan: np.ndarray | None = None
    fixed: list[int] = field(default_factory=list)

    def free(self) -> tuple[list[int], np.ndarray, float]:
        m, n = self.master.cost.shape
        rows, lines, cost = set(range(m)), np.ones(n, dtype=bool), 0.0
        for k in self.fixed:
            rows.discard(self.master.rows[k])
            lines &= ~self.master.lines[k]
            cost += float(self.master.cost[self.master.rows[k], self.master.lines[k]].sum())
        return sorted(rows), lines, cost

    def prunes(self, bound: float) -> bool:
        limit = math.ceil(bound - 1e-6) if self.integral else bound
        return limit >= self.best - (0.0 if self.integral else 1e-9 * max(1.0, abs(self.best)))

    def price(
        self, rows: list[int], lines: np.ndarray, fixed_cost: float, center: np.ndarray
    ) -> tuple[float, np.ndarray] | None:
        """Column generation at a node: its Lagrangian bound and the best prices (centre for the next node); None
        when the master could not be solved. The master's values are those of its last columns on return."""
        best_bound, best_prices = -math.inf, center
        dirty = True
        for _ in range(NODE_ITERATIONS):
            if time.perf_counter() > self.deadline:
                return None
            solved = self.master.solve()
            if solved is None:
                return None
            z, pi, mu = solved
            alpha = SMOOTHING
            while True:
                prices = alpha * best_prices + (1 - alpha) * pi
                bound, found = self._knapsacks(rows, lines, fixed_cost, prices, pi, mu)
                if bound > best_bound:
                    best_bound, best_prices = bound, prices
                added = sum(self.master.add(i, take) for i, take in found)
                if added or alpha == 0.0:
                    break
                alpha = 0.0 if alpha < 0.1 else alpha / 2  # mispricing: move towards the LP duals
            dirty = added > 0
            if not dirty or z - best_bound <= CONVERGED * max(1.0, abs(z)) or self.prunes(best_bound):
                break
        if dirty and self.master.solve() is None:
            return None
        return best_bound, best_prices

    def _knapsacks(
        self, rows: list[int], lines: np.ndarray, fixed_cost: float, prices: np.ndarray, pi: np.ndarray, mu: np.ndarray
    ) -> tuple[float, list[tuple[int, np.ndarray]]]:
        """The node's Lagrangian bound at ``prices``, and the knapsacks' columns priced negative at the LP duals."""
        bound = fixed_cost + float(prices[lines].sum())
        bound -= float(np.maximum(prices - self.artificial, 0.0)[lines].sum())  # the unlimited dummy row
        found = []
        for i in rows:
            profit = np.where(lines, prices - self.master.cost[i], -1.0)
            value, take = knapsack(profit, self.load[i], int(self.capacity[i]))
            bound -= value
            if self.master.cost[i, take].sum() - pi[take].sum() - mu[i] < -1e-7:
                found.append((i, take))
        return bound, found

    def search(self, depth: int, discrepancies: int, max_depth: int, center: np.ndarray) -> None:
        if time.perf_counter() > self.deadline:
            return
        rows, lines, fixed_cost = self.free()
        if not lines.any():
            self._record()
            return
        if not rows:
            return
        priced = self.price(rows, lines, fixed_cost, center)
        if priced is None:
            return
        bound, center = priced
        if self.prunes(bound) or self.master.artificial_use() > 1e-6:
            return
        values = self.master.values()
        live = [
            k for k in np.argsort(-values, kind="stable").tolist() if values[k] > 1e-6 and self.master.rows[k] in rows
        ]
        ones = [k for k in live if values[k] > 1 - 1e-6]
        if ones:  # integral part: fix it all and go on (or record, when nothing fractional is left)
            self._fix(ones)
            if len(ones) == len(live):
                self._record()
            else:
                self.search(depth, discrepancies, max_depth, center)
            self._unfix(ones)
            return
        tries = 1 + (discrepancies if depth < max_depth else 0)
        forbidden = []
        for t, k in enumerate(live[:tries]):
            self._fix([k])
            self.search(depth + 1, discrepancies - t, max_depth, center)
            self._unfix([k])
            self.master.fix(k, 0.0, 0.0)  # the siblings do without it
            forbidden.append(k)
        for k in forbidden:
            self.master.fix(k, 0.0, 1.0)

    def _fix(self, ks: list[int]) -> None:
        for k in ks:
            self.master.fix(k, 1.0, 1.0)
        self.fixed.extend(ks)

    def _unfix(self, ks: list[int]) -> None:
        for k in ks:
            self.master.fix(k, 0.0, 1.0)
        del self.fixed[-len(ks) :]

    def _record(self) -> None:
        _, lines, cost = self.free()
        if lines.any() or cost >= self.best:
            return
        plan = np.full(len(lines), -1, dtype=np.int64)
        for k in self.fixed:
            plan[self.master.lines[k]] = self.master.rows[k]
        self.best, self.plan = cost, plan


def dive(
    g: GapForm,
    capacity: np.ndarray,
    prices: np.ndarray,
    start_rows: np.ndarray,
    deadline: float,
    upper: float = math.inf,
    passes: tuple[tuple[int, int], ...] = PASSES,
) -> np.ndarray | None:
    """Rows of the best plan the dives find below ``upper`` (None when none is), every line in a real row.

    ``capacity`` is each real row's knapsack capacity (:func:`.knapsack.dp_capacity`), ``prices`` the line
    prices to start from (the knapsack relaxation's), ``start_rows`` a plan whose columns seed the master.
    Passes of widening discrepancy run until ``deadline`` or until all of ``passes`` are done."""
    real = g.cost[:-1]
    finite = np.isfinite(real)
    cost = np.where(finite, real, FORBIDDEN)
    top = float(real[finite].max()) if finite.any() else 1.0
    artificial = np.minimum(g.cost[-1], ARTIFICIAL_FACTOR * max(top, 1.0))
    integral = bool(np.all(cost[finite] == np.round(cost[finite])))
    master = _Master(cost, artificial)
    load = g.load[:-1].astype(np.int64)
    for i in range(real.shape[0]):
        lines = start_rows == i
        if load[i, lines].sum() <= capacity[i] and np.all(finite[i, lines]):
            master.add(i, lines)
    state = _Dive(master, load, capacity.astype(np.int64), artificial, deadline, integral, best=upper)
    center = np.asarray(prices, dtype=np.float64).copy()
    for discrepancies, depth in passes:
        if time.perf_counter() > deadline:
            break
        state.search(0, discrepancies, depth, center)
    return state.plan
