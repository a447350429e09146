"""Tabu search for problems of pure job-shop form: the search CP-SAT does not have.

CP-SAT's neighbourhoods relax and re-solve parts of the model; on square job shops (Taillard's 15×15 and
20×15) they stall around one per cent above the optimum, where a tabu search on the disjunctive graph keeps
improving. This is Nowicki & Smutnicki's TSAB in its plain form: one critical path, its blocks (runs of
operations adjacent on one machine), the N5 moves (swap the first two or the last two operations of a
block; the first block only its last two, the last block only its first two), each move rated by
Taillard's estimate of the longest path through the swapped pair, the best move that is not tabu taken
(a tabu move when it beats the best makespan), the reversed arc kept tabu for a random tenure. When the
best has not improved for a long while, the search goes back to the best schedule, kicks it with a few
random critical swaps and clears the tabu list (a simpler stand-in for TSAB's back jump). How long is
"long" was measured on ta12, ta15 and la29: going back after a few thousand idle iterations traps the
search near its first local optimum (about 1.3 % above the optimum after 4 million iterations), after
tens of thousands it keeps improving (about 1 %).

Swapping two operations adjacent on a critical path never closes a cycle when durations are positive,
so every schedule the search visits is feasible; semi-active starts (longest path heads) are read from
the best machine sequences at the end.

Determinism: the number of iterations is fixed by the caller and the random numbers come from a state
passed in, so a seed gives one answer. The kernel runs in chunks so that the caller's clock can stop it
early (a safety stop on a much slower machine, never the normal end).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from .evaluate import Placement, durations
from .problem import ScheduleProblem

CHUNK = 2_000
"""Iterations per call of the compiled kernel, between two looks at the clock."""


@dataclass(frozen=True)
class JobShop:
    """A problem of pure job-shop form as flat arrays, operations numbered job after job.

    ``machine_ops[offsets[m]:offsets[m + 1]]`` are the operations machine ``m`` runs (in no given order);
    ``local[o]`` is the index of ``o`` among its machine's operations (the tabu list's column).
    """

    op_ids: tuple[str, ...]
    machine_ids: tuple[str, ...]
    machine: np.ndarray
    duration: np.ndarray
    job_pred: np.ndarray
    job_succ: np.ndarray
    offsets: np.ndarray
    local: np.ndarray


def job_shop(problem: ScheduleProblem) -> JobShop | None:
    """The problem as a job shop, or ``None`` when it has anything a job shop has not.

    A job shop here: every machine its own workcenter, every operation one mode on one machine with a
    positive duration, no changeovers, no calendar, no due time, no release, no started work and no horizon
    of its own — the objective is then the makespan alone and the disjunctive graph says everything.
    """
    if problem.started or problem.calendar is not None or problem.horizon is not None:
        return None
    if any(wc.count != 1 or wc.calendar is not None for wc in problem.workcenters):
        return None
    families = {lot.family for lot in problem.lots} | {
        wc.initial_family for wc in problem.workcenters if wc.initial_family is not None
    }
    if any(problem.setup(a, b) > 0 for a in families for b in families):
        return None
    if any(lot.release > 0 or any(part.due is not None for part in lot.lines) for lot in problem.lots):
        return None
    table = durations(problem)
    machine_ids = tuple(m for wc in problem.workcenters for m in wc.machine_ids())
    index = {m: k for k, m in enumerate(machine_ids)}
    op_ids: list[str] = []
    machine: list[int] = []
    duration: list[int] = []
    job_pred: list[int] = []
    job_succ: list[int] = []
    for lot in problem.lots:
        for k, op in enumerate(lot.operations):
            options = table[op.id]
            if len(op.modes) != 1 or len(options) != 1:
                return None
            ((machine_id, minutes),) = options.items()
            if minutes <= 0:
                return None
            o = len(op_ids)
            op_ids.append(op.id)
            machine.append(index[machine_id])
            duration.append(minutes)
            job_pred.append(o - 1 if k > 0 else -1)
            job_succ.append(o + 1 if k + 1 < len(lot.operations) else -1)
    if not op_ids:
        return None
    per_machine: list[list[int]] = [[] for _ in machine_ids]
    for o, m in enumerate(machine):
        per_machine[m].append(o)
    local = np.zeros(len(op_ids), dtype=np.int64)
    for ops in per_machine:
        for k, o in enumerate(ops):
            local[o] = k
    offsets = np.cumsum([0, *(len(ops) for ops in per_machine)]).astype(np.int64)
    return JobShop(
        op_ids=tuple(op_ids),
        machine_ids=machine_ids,
        machine=np.array(machine, dtype=np.int64),
        duration=np.array(duration, dtype=np.int64),
        job_pred=np.array(job_pred, dtype=np.int64),
        job_succ=np.array(job_succ, dtype=np.int64),
        offsets=offsets,
        local=local,
    )


def improve(
    shop: JobShop,
    placements: dict[str, Placement],
    *,
    iterations: int,
    seed: int,
    deadline: float,
    params: tuple[int, int, int, int] | None = None,
) -> tuple[dict[str, Placement], bool]:
    """The best schedule the tabu search finds from ``placements`` in ``iterations`` moves.

    Also whether the search saw that its schedule is optimal (a critical path without moves is one
    machine's work or one job's: the makespan equals a lower bound). ``deadline`` (``time.perf_counter``)
    is the safety stop.
    """
    n = len(shop.op_ids)
    seq = np.empty(n, dtype=np.int64)
    for m in range(len(shop.machine_ids)):
        members = sorted(np.flatnonzero(shop.machine == m), key=lambda o: (placements[shop.op_ids[o]][1], o))
        seq[shop.offsets[m] : shop.offsets[m + 1]] = members
    best = seq.copy()
    width = int(max(np.diff(shop.offsets).max(), 1))
    tabu = np.zeros((n, width), dtype=np.int64)
    jobs = int((shop.job_pred < 0).sum())
    tenure = 10 + jobs // max(1, len(shop.machine_ids))
    params = np.array(params or (tenure, tenure + max(2, tenure * 2 // 5), 20_000 + 100 * n, 4), dtype=np.int64)
    state = np.array([0, 0, 0, 0], dtype=np.int64)  # iteration, iterations since best, best, status
    rng = np.array([seed * 2_654_435_761 + 1], dtype=np.int64)
    done = 0
    while done < iterations and time.perf_counter() < deadline:
        steps = min(CHUNK, iterations - done)
        _search(
            shop.job_pred,
            shop.job_succ,
            shop.machine,
            shop.duration,
            shop.offsets,
            shop.local,
            seq,
            best,
            tabu,
            state,
            rng,
            params,
            steps,
        )
        done += steps
        if state[3] != 0:
            break
    heads = _heads(shop.job_pred, shop.job_succ, shop.machine, shop.duration, shop.offsets, best)
    return (
        {op_id: (shop.machine_ids[shop.machine[o]], int(heads[o])) for o, op_id in enumerate(shop.op_ids)},
        bool(state[3] == 1),
    )


@njit(cache=True, nogil=True)
def _next(rng: np.ndarray, bound: int) -> int:
    """A random integer in ``[0, bound)`` from a 64-bit linear congruential state (wraps by design)."""
    rng[0] = rng[0] * 6364136223846793005 + 1442695040888963407
    return ((rng[0] >> 33) & 0x7FFFFFFF) % bound


@njit(cache=True, nogil=True)
def _heads(
    job_pred: np.ndarray,
    job_succ: np.ndarray,
    machine: np.ndarray,
    duration: np.ndarray,
    offsets: np.ndarray,
    seq: np.ndarray,
) -> np.ndarray:
    """Earliest starts of the sequence ``seq`` (all zeros when it has a cycle)."""
    n = duration.shape[0]
    head = np.zeros(n, dtype=np.int64)
    tail = np.zeros(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    mpred = np.empty(n, dtype=np.int64)
    msucc = np.empty(n, dtype=np.int64)
    _links(offsets, seq, mpred, msucc)
    _evaluate(job_pred, job_succ, duration, mpred, msucc, head, tail, order)
    return head


@njit(cache=True, nogil=True)
def _links(offsets: np.ndarray, seq: np.ndarray, mpred: np.ndarray, msucc: np.ndarray) -> None:
    """Machine predecessor and successor of every operation (-1 at either end of a machine)."""
    for m in range(offsets.shape[0] - 1):
        a, b = offsets[m], offsets[m + 1]
        for k in range(a, b):
            o = seq[k]
            mpred[o] = seq[k - 1] if k > a else -1
            msucc[o] = seq[k + 1] if k + 1 < b else -1


@njit(cache=True, nogil=True)
def _evaluate(
    job_pred: np.ndarray,
    job_succ: np.ndarray,
    duration: np.ndarray,
    mpred: np.ndarray,
    msucc: np.ndarray,
    head: np.ndarray,
    tail: np.ndarray,
    order: np.ndarray,
) -> int:
    """Heads, tails (longest path after the end) and makespan; -1 when the arcs close a cycle."""
    n = duration.shape[0]
    pending = np.zeros(n, dtype=np.int64)
    count = 0
    for o in range(n):
        head[o] = 0
        pending[o] = (job_pred[o] >= 0) + (mpred[o] >= 0)
        if pending[o] == 0:
            order[count] = o
            count += 1
    k = 0
    while k < count:
        o = order[k]
        k += 1
        end = head[o] + duration[o]
        for s in (job_succ[o], msucc[o]):
            if s >= 0:
                if end > head[s]:
                    head[s] = end
                pending[s] -= 1
                if pending[s] == 0:
                    order[count] = s
                    count += 1
    if count < n:
        return -1
    makespan = 0
    for k in range(n - 1, -1, -1):
        o = order[k]
        t = 0
        s = job_succ[o]
        if s >= 0:
            t = tail[s] + duration[s]
        s = msucc[o]
        if s >= 0 and tail[s] + duration[s] > t:
            t = tail[s] + duration[s]
        tail[o] = t
        if head[o] + duration[o] > makespan:
            makespan = head[o] + duration[o]
    return makespan


@njit(cache=True, nogil=True)
def _search(
    job_pred: np.ndarray,
    job_succ: np.ndarray,
    machine: np.ndarray,
    duration: np.ndarray,
    offsets: np.ndarray,
    local: np.ndarray,
    seq: np.ndarray,
    best: np.ndarray,
    tabu: np.ndarray,
    state: np.ndarray,
    rng: np.ndarray,
    params: np.ndarray,
    steps: int,
) -> None:
    """``steps`` tabu iterations from ``seq`` (the current sequences), ``best`` and ``state`` carried over.

    ``params``: tenure low and high, iterations without a new best before going back to it, kicks then.
    ``state``: iteration, iterations since the best improved, best makespan (0: not yet set), status
    (0 go on, 1 proven optimal, -1 cycle: a bug, the caller keeps ``best``).
    """
    n = duration.shape[0]
    head = np.zeros(n, dtype=np.int64)
    tail = np.zeros(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    mpred = np.empty(n, dtype=np.int64)
    msucc = np.empty(n, dtype=np.int64)
    where = np.empty(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    moves = np.empty((2 * n, 2), dtype=np.int64)
    for k in range(n):
        where[seq[k]] = k
    _links(offsets, seq, mpred, msucc)
    current = _evaluate(job_pred, job_succ, duration, mpred, msucc, head, tail, order)
    if current < 0:
        state[3] = -1
        return
    if state[2] == 0 or current < state[2]:
        state[2] = current
        best[:] = seq
    kicks = 0
    for _ in range(steps):
        it = state[0]
        state[0] += 1
        # one critical path, from its end backwards (ties between the two predecessors at random)
        last = 0
        for o in range(n):
            if head[o] + duration[o] == current and tail[o] == 0:
                last = o
                break
        length = 0
        o = last
        while True:
            path[length] = o
            length += 1
            p, j = mpred[o], job_pred[o]
            by_machine = p >= 0 and head[p] + duration[p] == head[o]
            by_job = j >= 0 and head[j] + duration[j] == head[o]
            if by_machine and by_job:
                o = p if _next(rng, 2) == 0 else j
            elif by_machine:
                o = p
            elif by_job:
                o = j
            else:
                break
        path[:length] = path[:length][::-1].copy()
        # moves: N5 while searching, any critical swap while kicking
        count = 0
        blocks = 0
        start = 0
        for k in range(1, length + 1):
            if k < length and msucc[path[k - 1]] == path[k] and job_succ[path[k - 1]] != path[k]:
                continue
            end = k - 1  # the block is path[start..end]
            if end > start:
                if kicks > 0:
                    for q in range(start, end):
                        moves[count, 0], moves[count, 1] = path[q], path[q + 1]
                        count += 1
                else:
                    if start > 0:
                        moves[count, 0], moves[count, 1] = path[start], path[start + 1]
                        count += 1
                    if k < length and (start == 0 or end - 1 > start):
                        moves[count, 0], moves[count, 1] = path[end - 1], path[end]
                        count += 1
            blocks += 1
            start = k
        if count == 0:
            if kicks == 0:
                state[3] = 1  # one block or one job from 0 to the makespan: a lower bound is met
                best[:] = seq
                state[2] = current
                return
            kicks = 0
            continue
        if kicks > 0:
            pick = _next(rng, count)
            kicks -= 1
        else:
            pick = -1
            pick_value = 0
            fallback = 0
            fallback_until = 0
            for c in range(count):
                u, v = moves[c, 0], moves[c, 1]
                a, b = mpred[u], msucc[v]
                rv = 0
                if job_pred[v] >= 0:
                    rv = head[job_pred[v]] + duration[job_pred[v]]
                if a >= 0 and head[a] + duration[a] > rv:
                    rv = head[a] + duration[a]
                ru = rv + duration[v]
                if job_pred[u] >= 0 and head[job_pred[u]] + duration[job_pred[u]] > ru:
                    ru = head[job_pred[u]] + duration[job_pred[u]]
                qu = 0
                if job_succ[u] >= 0:
                    qu = tail[job_succ[u]] + duration[job_succ[u]]
                if b >= 0 and tail[b] + duration[b] > qu:
                    qu = tail[b] + duration[b]
                qv = qu + duration[u]
                if job_succ[v] >= 0 and tail[job_succ[v]] + duration[job_succ[v]] > qv:
                    qv = tail[job_succ[v]] + duration[job_succ[v]]
                value = max(rv + duration[v] + qv, ru + duration[u] + qu)
                until = tabu[v, local[u]]  # the move puts v before u again
                if until <= it or value < state[2]:
                    if pick < 0 or value < pick_value or (value == pick_value and _next(rng, 2) == 0):
                        pick, pick_value = c, value
                elif c == 0 or until < fallback_until:
                    fallback, fallback_until = c, until
            if pick < 0:
                pick = fallback  # every move tabu: the one whose tabu ends first
        u, v = moves[pick, 0], moves[pick, 1]
        ku, kv = where[u], where[v]
        seq[ku], seq[kv] = v, u
        where[u], where[v] = kv, ku
        a, b = mpred[u], msucc[v]
        if a >= 0:
            msucc[a] = v
        if b >= 0:
            mpred[b] = u
        mpred[v], msucc[v] = a, u
        mpred[u], msucc[u] = v, b
        tabu[u, local[v]] = it + params[0] + _next(rng, params[1] - params[0] + 1)
        current = _evaluate(job_pred, job_succ, duration, mpred, msucc, head, tail, order)
        if current < 0:
            state[3] = -1
            return
        if current < state[2]:
            state[2] = current
            best[:] = seq
            state[1] = 0
        else:
            state[1] += 1
        if kicks == 0 and state[1] >= params[2]:
            # back to the best, a few random critical swaps, a fresh tabu list
            seq[:] = best
            for k in range(n):
                where[seq[k]] = k
            _links(offsets, seq, mpred, msucc)
            current = _evaluate(job_pred, job_succ, duration, mpred, msucc, head, tail, order)
            tabu[:, :] = 0
            state[1] = 0
            kicks = params[3]
