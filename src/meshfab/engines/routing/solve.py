"""Network routing engine: re-assign unstarted order lines across factories.

Method (a Lagrangian-priced large neighbourhood search over CP-SAT):

1. **Options** (:mod:`.options`): every feasible (line, factory, day) with its cost, or for large networks the
   ``k`` cheapest factories per line and a few days each; what is left out is priced into a per-line floor so
   the bound stays valid for the whole problem.
2. **Bound and prices** (:mod:`.lagrangian`): subgradient on the relaxed bucket capacities.
3. **First plan** (:mod:`.heuristics`): regret greedy, then a shift pass. Tables of generalised-assignment form
   (one bucket per option, the GAP benchmarks) then get a short whole-model CP-SAT probe (5 % of the limit;
   easy instances end there, proven optimal), the knapsack relaxation of the assignment constraints (5 %,
   :mod:`.knapsack`: a bound about 0.1 % below the optimum on type D, and a start plan in the optimum's basin)
   and the compiled tabu search of :mod:`.tabu` (shift, swap and ejection-chain moves, adaptive penalties on
   excess minutes, elite plans and path relinking; one search per worker, up to two) for 45 %. On the hard GAP
   classes CP-SAT alone stalls about 1 % above the optimum on two cores; on d20100 the tabu search reaches about
   1 % within a second, and LNS from its plan about 0.8 %.
   Reduced-cost fixing then drops every (line, bucket) pair whose forced knapsack bound exceeds the best plan's
   cost (no better plan can use it) and a second tabu search runs over what is left (15 %); the exact model
   below gets only the pairs left by the best plan, and with several workers only 10 % of the limit, LNS the rest.
   With several workers the probe also picks the method: when its plan is already within 1 % of the knapsack
   bound (few buckets per line: d05100, d05200) CP-SAT's own portfolio does better than the tabu search, so the
   whole model, over the pairs fixing leaves, gets both cores up to the last 10 % of the limit instead.
   Otherwise, with at most 20 lines per bucket (d10100, d20100, c10200, c20200), column-generation dives
   (:mod:`.diving`: a set-partitioning master priced by the same knapsacks, fixed column by column with limited
   discrepancy) run on one core while a tabu search runs on the other, up to 80 % of the limit; a tabu search
   from the better plan, over the pairs fixing leaves, polishes it. On d20100 the dives reach 0.15 % above the
   optimum where two tabu searches stalled at 0.5-0.7 %.
   Candidate tables whose plan strands lines (multi-capability lines find no same-day room in every bucket)
   get rescue options: every capable factory and day is scanned against the residual capacity (:mod:`.rescue`).
   The subgradient then runs towards that plan's cost, so its bound is tight, and its prices give a second
   greedy plan.
4. **Exact model when small**: a complete table with few options goes whole to CP-SAT, hinted with the plan and
   with the Lagrangian bound as a constraint on the objective; its bound is then the problem's bound.
5. **LNS** (:mod:`.cpsat`): repeatedly free the lines of a few related factories (factories that share
   candidate lines, optionally within a window of days) or a random sample of lines, and let CP-SAT re-optimise
   them within the capacity the others leave. This decomposes by region and by time without fixing either in
   advance: related factories are those that compete for the same lines.

Deadline: on candidate tables (large networks) every phase gets a share of the time left when it starts and
stops there (shift pass 30 %, rescue 40 %, bound 55 %, priced plan 75 %); LNS uses the rest.

Determinism: with one worker every step is deterministic (fixed iteration counts, a budget of CP-SAT
deterministic time worth 0.3 s per second of time limit, a seeded generator); the wall-clock ``time_limit``
is then only a safety stop, and the result depends on the machine only when that stop is what ends the search
(large problems on a loaded machine). With more workers CP-SAT is not deterministic anyway, and the search
uses the whole limit.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from meshfab.engines.routing.cpsat import SubResult, cost_scale, solve_subproblem
from meshfab.engines.routing.diving import dive
from meshfab.engines.routing.heuristics import greedy, plan_cost, shift_pass
from meshfab.engines.routing.knapsack import KnapsackRelaxation, dp_capacity, relax
from meshfab.engines.routing.lagrangian import LagrangeState, subgradient
from meshfab.engines.routing.options import OptionTable, build_options
from meshfab.engines.routing.problem import CostSplit, RoutingProblem, RoutingResult, RoutingStatus
from meshfab.engines.routing.rescue import rescue_options
from meshfab.engines.routing.tabu import GapForm, gap_form, iteration_work, tabu_search, to_choice, to_rows

EXACT_OPTION_LIMIT = 60_000  # complete tables up to this size are first handed whole to CP-SAT
DET_PER_SECOND = 0.3  # with one worker: CP-SAT deterministic time budgeted per second of time limit. CP-SAT
# does about 0.16 a second on the twin's plans on the development machine, so on the clock the limit stops it
# first; a deterministic solve takes about twice its limit
WALL_SAFETY = 10.0  # a deterministic solve stops on the clock only this many times over its limit: a run-away
TABU_SHARE = 0.45  # share of the time limit for the tabu search on generalised-assignment tables
FIXED_SHARE = 0.15  # then for a second one over the pairs that reduced-cost fixing leaves
WHOLE_SHARE = 0.1  # then (several workers) for the whole model, leaving the rest to LNS: from the tabu search's
# plan on d20100, LNS took 0.95 % to 0.78 % above the optimum within 5 s
CPSAT_NEAR = 0.01  # (several workers) a probe plan this close to the knapsack bound hands the search to CP-SAT:
# with few buckets per line its own neighbourhoods beat the tabu search (d05100 and d05200 at 60 s: 0.00-0.06 %
# above the optimum against 0.10 %); with many (d20100) its probe is 5 % off and the tabu search is far ahead
LNS_SHARE = 0.1  # what that whole-model run leaves to LNS
DIVE_END = 0.8  # (several workers, probe not near) column-generation dives beside a tabu search until then: on
# d20100 the dives reach 0.15 % above the optimum where the tabu search stalls at 0.5-0.7 %
POLISH_SHARE = 0.1  # then a tabu search from the best plan
DIVE_LINES_PER_BUCKET = 20  # above this many lines per bucket the master's columns grow long and its root alone
# takes most of the minute (c05200, d05200: 40 lines per bucket), so those tables keep the sequential search
PROBE_SHARE = 0.05  # first, a short whole-model CP-SAT run: it proves the easy instances optimal at once
KNAPSACK_SHARE = 0.05  # then the knapsack relaxation: its bound, and the plan its prices point to
TABU_WORK_PER_SECOND = 1.5e8  # moves evaluated per second (one worker): sets a fixed number of iterations
FINISH_SECONDS_PER_LINE = 1e-5  # kept back from LNS to price and split the answer: 1 s for 100,000 lines
DP_CELLS_PER_SECOND = 8e7  # knapsack DP cells per second: sets a fixed number of subgradient steps


def solve(
    problem: RoutingProblem, *, time_limit: float = 10.0, seed: int = 0, workers: int = 1, deterministic: bool = False
) -> RoutingResult:
    """Re-route every line of ``problem``; see the module docstring for the method.

    ``deterministic`` (one worker): every phase does its fixed work (iterations, DP steps, CP-SAT deterministic
    time) and the clock only stops a run-away at ``WALL_SAFETY`` times the limit, so the same problem and seed
    give the same plan however loaded the machine is. Without it, phases of large tables and CP-SAT also stop
    on the clock, which keeps the limit in seconds but lets the machine's load change the plan."""
    if time_limit <= 0:
        raise ValueError("time_limit must be positive")
    if workers < 1:
        raise ValueError("workers must be at least 1")
    if deterministic and workers != 1:
        raise ValueError("a deterministic solve runs on one worker")
    start = time.perf_counter()
    deadline = start + (WALL_SAFETY if deterministic else 1.0) * time_limit
    t = build_options(problem)
    complete = bool(np.all(np.isinf(t.line_floor)))
    n_entries = max(len(t.ent_bucket), 1)
    iterations = int(np.clip(3e7 / n_entries, 10, 300))
    lam0 = np.zeros(len(t.capacity))
    # phase deadlines only for candidate tables (large networks): small complete ones finish each phase quickly
    # and must not depend on the clock (determinism)
    clocked = not complete and not deterministic
    phase = (lambda share: _share_of_rest(start, deadline, share)) if clocked else (lambda share: math.inf)
    choice = shift_pass(t, greedy(t, lam0), deadline=phase(0.3))
    form = gap_form(t) if complete else None
    relaxed: KnapsackRelaxation | None = None
    whole: SubResult | None = None  # the whole model's run, when CP-SAT rather than the tabu search had the time
    allowed_options: np.ndarray | None = None  # options a plan better than the best so far may use
    if form is not None:  # generalised-assignment form: tabu search first, so the bound has a good target
        probe = solve_subproblem(
            t,
            choice,
            np.arange(t.n_lines),
            det_time=PROBE_SHARE * DET_PER_SECOND * time_limit,
            max_time=PROBE_SHARE * time_limit * (WALL_SAFETY if deterministic else 1.0),
            seed=seed,
            workers=workers,
        )
        if probe.optimal and probe.bound is not None:  # small and easy: proven optimal, nothing left to search
            return _result(problem, t, probe.choice, probe.bound, time.perf_counter() - start)
        if plan_cost(t, probe.choice) < plan_cost(t, choice):
            choice = probe.choice
        relaxed = _knapsack_phase(t, form, choice, time_limit, subgradient(t, plan_cost(t, choice), iterations))
        start_rows = to_rows(form, choice) if relaxed is None else relaxed.rows
        near = relaxed is not None and plan_cost(t, probe.choice) <= (1 + CPSAT_NEAR) * relaxed.bound
        if workers > 1 and near:  # CP-SAT's own search got close at once: both cores to it
            whole = _whole_model(t, form, relaxed, choice, start + (1 - LNS_SHARE) * time_limit, seed, workers)
            if plan_cost(t, whole.choice) <= plan_cost(t, choice):
                choice = whole.choice
        elif workers > 1 and relaxed is not None and t.n_lines <= DIVE_LINES_PER_BUCKET * len(form.buckets):
            # many buckets per line: dives and a tabu search side by side
            choice = _dive_beside_tabu(t, form, relaxed, choice, start_rows, start, time_limit, seed)
        else:
            safety = deadline if deterministic else None
            choice = _sequential_search(t, form, relaxed, choice, start_rows, start, time_limit, seed, workers, safety)
        if relaxed is not None:
            allowed_options = _allowed_options(t, form, relaxed, plan_cost(t, choice))
    if not complete and (choice < 0).any():  # candidates left lines without room: look wider for them
        t, choice = rescue_options(problem, t, choice, phase(0.4))
    state = subgradient(t, plan_cost(t, choice), iterations, deadline=phase(0.55))
    if not clocked or deadline - time.perf_counter() > 0.5 * time_limit:  # time for a second greedy plan
        priced = shift_pass(t, greedy(t, state.multipliers), deadline=phase(0.75))
        if plan_cost(t, priced) < plan_cost(t, choice):
            choice = priced
    bound = state.bound
    if relaxed is not None:  # integral costs (the benchmarks): so is the optimum, round the bound up
        bound = max(bound, math.ceil(relaxed.bound - 1e-6) if cost_scale(t) == 1 else relaxed.bound)
    if whole is not None and whole.bound is not None:
        bound = max(bound, whole.bound)
    det_budget = DET_PER_SECOND * time_limit if workers == 1 else math.inf
    det_used = 0.0
    rng = np.random.default_rng(seed)
    if complete and len(t.opt_line) <= EXACT_OPTION_LIMIT and whole is None:
        whole_cap = math.inf if form is None or workers == 1 else WHOLE_SHARE * time_limit
        sub = solve_subproblem(
            t,
            choice,
            np.arange(t.n_lines),
            det_time=(0.8 if form is not None else 0.3) * det_budget,
            max_time=min(deadline - time.perf_counter(), whole_cap),
            seed=seed,
            workers=workers,
            lower_bound=bound,
            allowed=allowed_options,
        )
        det_used += sub.deterministic_time
        if plan_cost(t, sub.choice) <= plan_cost(t, choice):
            choice = sub.choice
        if sub.bound is not None:
            bound = max(bound, sub.bound)
    finish = deadline - min(0.05 * time_limit, FINISH_SECONDS_PER_LINE * t.n_lines)  # pricing the answer
    choice = _lns(t, choice, bound, rng, det_budget - det_used, finish, seed, workers)
    return _result(problem, t, choice, bound, time.perf_counter() - start)


def _knapsack_phase(
    t: OptionTable, form: GapForm, choice: np.ndarray, time_limit: float, capacity_relaxation: LagrangeState
) -> KnapsackRelaxation | None:
    """The knapsack relaxation for a fixed number of subgradient steps, when its DP is small enough."""
    cap = dp_capacity(form)
    if cap is None:
        return None
    cells = len(cap) * form.cost.shape[1] * (int(cap.max()) + 1)
    steps = int(np.clip(KNAPSACK_SHARE * time_limit * DP_CELLS_PER_SECOND / cells, 10, 600))
    return relax(form, cap, plan_cost(t, choice), steps, capacity_relaxation.multipliers)


def _sequential_search(
    t: OptionTable,
    form: GapForm,
    relaxed: KnapsackRelaxation | None,
    choice: np.ndarray,
    start_rows: np.ndarray,
    start: float,
    time_limit: float,
    seed: int,
    workers: int,
    safety: float | None = None,
) -> np.ndarray:
    """Tabu search from the knapsack plan, then a second one over the pairs reduced-cost fixing leaves.
    ``safety`` (deterministic solves) replaces the phases' own stops on the clock."""
    until = start + (PROBE_SHARE + KNAPSACK_SHARE + TABU_SHARE) * time_limit
    choice = _tabu_phase(t, form, choice, start_rows, TABU_SHARE * time_limit, safety or until, seed, workers)
    if relaxed is not None:  # only the pairs a better plan may use: a smaller search for the rest
        fixed = replace(form, cost=np.where(relaxed.allowed(plan_cost(t, choice)), form.cost, np.inf))
        until += FIXED_SHARE * time_limit
        choice = _tabu_phase(
            t, fixed, choice, to_rows(form, choice), FIXED_SHARE * time_limit, safety or until, seed + 7, workers
        )
    return choice


def _dive_beside_tabu(
    t: OptionTable,
    form: GapForm,
    relaxed: KnapsackRelaxation,
    choice: np.ndarray,
    start_rows: np.ndarray,
    start: float,
    time_limit: float,
    seed: int,
) -> np.ndarray:
    """Column-generation dives (:mod:`.diving`) on this thread while one tabu search runs on the other core (its
    compiled loops release the GIL); then a tabu search from the better plan over the pairs fixing leaves."""
    until = start + DIVE_END * time_limit
    capacity = dp_capacity(form)
    assert capacity is not None  # the knapsack relaxation ran, so its DP fits
    with ThreadPoolExecutor(max_workers=1) as pool:
        searched = pool.submit(tabu_search, form, start_rows, 10**12, until, seed, 1)
        dived = dive(form, capacity, relaxed.prices, to_rows(form, choice), until, upper=plan_cost(t, choice))
        found = searched.result()
    for rows in (dived, found):
        if rows is not None and plan_cost(t, to_choice(form, rows)) < plan_cost(t, choice):
            choice = to_choice(form, rows)
    fixed = replace(form, cost=np.where(relaxed.allowed(plan_cost(t, choice)), form.cost, np.inf))
    polish = POLISH_SHARE * time_limit
    return _tabu_phase(t, fixed, choice, to_rows(form, choice), polish, until + polish, seed + 7, 2)


def _whole_model(
    t: OptionTable,
    form: GapForm,
    relaxed: KnapsackRelaxation,
    choice: np.ndarray,
    until: float,
    seed: int,
    workers: int,
) -> SubResult:
    """The whole CP-SAT model from ``choice`` until ``until``, over the pairs reduced-cost fixing leaves (its
    bound is the problem's: a plan using a dropped pair costs more than ``choice``)."""
    return solve_subproblem(
        t,
        choice,
        np.arange(t.n_lines),
        det_time=math.inf,
        max_time=until - time.perf_counter(),
        seed=seed,
        workers=workers,
        lower_bound=relaxed.bound,
        allowed=_allowed_options(t, form, relaxed, plan_cost(t, choice)),
    )


def _allowed_options(t: OptionTable, form: GapForm, relaxed: KnapsackRelaxation, upper: float) -> np.ndarray:
    """Per option: whether a plan costing at most ``upper`` may use it (reduced-cost fixing)."""
    keep = relaxed.allowed(upper)
    allowed = np.zeros(len(t.opt_line), dtype=bool)
    allowed[form.option[keep & (form.option >= 0)]] = True
    return allowed


def _tabu_phase(
    t: OptionTable,
    form: GapForm,
    choice: np.ndarray,
    start_rows: np.ndarray,
    seconds: float,
    until: float,
    seed: int,
    workers: int,
) -> np.ndarray:
    """Tabu search from ``start_rows``; the better of ``choice`` and the search's best comes back.

    With one worker it runs a fixed number of iterations worth ``seconds`` (``until`` is only a safety stop);
    with more, two searches with different seeds run side by side until ``until`` (the compiled loops release
    the GIL, so they use both cores)."""
    iterations = int(seconds * TABU_WORK_PER_SECOND / iteration_work(form)) + 1 if workers == 1 else 10**12
    found = tabu_search(form, start_rows, iterations, until, seed, workers=min(workers, 2))
    if found is not None:
        found_choice = to_choice(form, found)
        if plan_cost(t, found_choice) < plan_cost(t, choice):
            choice = found_choice
    return choice


def _share_of_rest(start: float, deadline: float, share: float) -> float:
    """A phase's deadline: ``share`` of the time left now (building the table may already have used much)."""
    now = time.perf_counter()
    return now + share * max(deadline - now, 0.0)


def _lns(
    t: OptionTable,
    choice: np.ndarray,
    bound: float,
    rng: np.random.Generator,
    det_budget: float,
    deadline: float,
    seed: int,
    workers: int,
) -> np.ndarray:
    n_fac = len(t.factory_ids)
    small = t.n_lines <= 2_000
    max_free = t.n_lines if small else 600  # CP-SAT re-optimises a few hundred lines per second
    sub_det = 0.3 if small else 1.0
    cost = plan_cost(t, choice)
    det_used, it = 0.0, 0
    while det_used < det_budget and time.perf_counter() < deadline and cost - bound > 1e-6 * max(1.0, abs(cost)):
        it += 1
        stranded = np.nonzero(choice < 0)[0]
        if it % 3 == 1 and len(stranded) and _has_options(t, stranded):
            free = _rescue(t, choice, stranded, rng, max_free)
        elif it % 2 and n_fac > 1:
            free = _factory_group(t, choice, rng, group=max(2, math.ceil(n_fac / 4)) if small else 4)
        else:
            free = rng.choice(
                t.n_lines, size=max(1, int(0.3 * t.n_lines)) if small else min(max_free, t.n_lines), replace=False
            )
        if len(free) > max_free:
            free = rng.choice(free, size=max_free, replace=False)
        if len(free) == 0:
            continue
        free = np.sort(free)
        sub = solve_subproblem(
            t,
            choice,
            free,
            det_time=min(sub_det, det_budget - det_used + 0.01),
            max_time=deadline - time.perf_counter(),
            seed=seed + it,
            workers=workers,
        )
        det_used += max(sub.deterministic_time, 1e-3)
        new_cost = plan_cost(t, sub.choice)
        if new_cost <= cost:
            choice, cost = sub.choice, new_cost
    return choice


def _factory_group(t: OptionTable, choice: np.ndarray, rng: np.random.Generator, group: int) -> np.ndarray:
    """Lines held by a seed factory and the factories most often among those lines' options."""
    assigned = choice >= 0
    cur_fac = np.where(assigned, t.opt_factory[np.maximum(choice, 0)], -1)
    used = np.unique(cur_fac[assigned])
    if len(used) == 0:
        return np.nonzero(~assigned)[0]
    seed_f = int(rng.choice(used))
    lines = np.nonzero(cur_fac == seed_f)[0]
    if len(lines) > 200:
        lines = rng.choice(lines, size=200, replace=False)
    opts = np.concatenate([np.arange(t.line_start[ln], t.line_start[ln + 1]) for ln in lines])
    counts = np.bincount(t.opt_factory[opts], minlength=len(t.factory_ids))
    counts[seed_f] = -1
    # ties broken at random: on complete tables every factory shares every line, and a fixed order would
    # always pair the seed with the same few
    related = np.argsort(-(counts + rng.random(len(counts))), kind="stable")[: group - 1]
    members = np.concatenate([[seed_f], related[counts[related] > 0]])
    in_group = np.isin(cur_fac, members)
    if t.horizon > 14 and in_group.sum() > 2_000:
        day0 = int(rng.integers(0, t.horizon - 10))
        cur_day = np.where(assigned, t.opt_day[np.maximum(choice, 0)], -1)
        in_group &= (cur_day >= day0) & (cur_day < day0 + 10)
    stranded = ~assigned & np.isin(np.arange(t.n_lines), _lines_with_factories(t, members))
    return np.nonzero(in_group | stranded)[0]


def _has_options(t: OptionTable, lines: np.ndarray) -> bool:
    return bool((t.line_start[lines + 1] > t.line_start[lines]).any())


def _rescue(
    t: OptionTable, choice: np.ndarray, stranded: np.ndarray, rng: np.random.Generator, max_free: int
) -> np.ndarray:
    """Unassigned lines and the lines holding the buckets they could use, so that CP-SAT can make room."""
    if len(stranded) > max_free // 4:
        stranded = rng.choice(stranded, size=max(1, max_free // 4), replace=False)
    opts = np.concatenate([np.arange(t.line_start[ln], t.line_start[ln + 1]) for ln in stranded])
    wanted = np.unique(
        t.ent_bucket[np.concatenate([np.arange(t.ent_start[o], t.ent_start[o + 1]) for o in opts])]
        if len(opts)
        else np.array([], dtype=np.int64)
    )
    assigned = np.nonzero(choice >= 0)[0]
    chosen = choice[assigned]
    counts = np.diff(t.ent_start)[chosen]
    ent_line = np.repeat(assigned, counts)
    ent_idx = np.repeat(t.ent_start[chosen], counts) + (
        np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    holders = np.unique(ent_line[np.isin(t.ent_bucket[ent_idx], wanted)])
    room = max_free - len(stranded)
    if len(holders) > room:
        holders = rng.choice(holders, size=room, replace=False)
    return np.unique(np.concatenate([stranded, holders]))


def _lines_with_factories(t: OptionTable, members: np.ndarray) -> np.ndarray:
    return np.unique(t.opt_line[np.isin(t.opt_factory, members)])


def _result(problem: RoutingProblem, t: OptionTable, choice: np.ndarray, bound: float, seconds: float) -> RoutingResult:
    assignment: dict[str, tuple[str, int] | None] = {}
    unassigned: list[str] = []
    moved: list[str] = []
    for line, o in zip(problem.lines, choice.tolist(), strict=True):
        if o < 0:
            assignment[line.id] = None
            unassigned.append(line.id)
            continue
        fid = t.factory_ids[int(t.opt_factory[o])]
        assignment[line.id] = (fid, int(t.opt_day[o]))
        if line.current_factory is not None and fid != line.current_factory:
            moved.append(line.id)
    parts = t.opt_parts[:, choice[choice >= 0]].sum(axis=1)
    costs = CostSplit(
        production=float(parts[0]),
        shipping=float(parts[1]),
        lateness=float(parts[2]),
        moves=float(parts[3]),
        trust=float(parts[4]),
        unassigned=t.unassigned_cost * len(unassigned),
    )
    objective = costs.total
    lower = min(bound, objective)
    gap = 0.0 if objective - lower <= 1e-6 * max(1.0, abs(objective)) else (objective - lower) / abs(objective)
    status = RoutingStatus.OPTIMAL if gap == 0.0 else RoutingStatus.FEASIBLE
    return RoutingResult(
        assignment=assignment,
        unassigned=unassigned,
        moved=moved,
        costs=costs,
        objective=objective,
        lower_bound=lower,
        gap=gap,
        status=status,
        seconds=seconds,
    )
