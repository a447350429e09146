"""Translation of a :class:`RoutingProblem` into solver indices: the option table.

An *option* is one way to make a line: (line, factory, production day), with its cost split and the minutes it
takes from each capacity bucket (factory x capability x day). Everything downstream (Lagrangian bound, greedy,
CP-SAT) works on these flat numpy arrays and never sees ids.

Small problems get every feasible option. Large ones (100,000 lines x 500 factories x 30 days would be 1.5e9
options) get *candidates*: the ``k`` cheapest factories for each line (ranked by their uncapacitated best-day cost,
the current factory always kept) and a few days each, spread over the on-time window plus the first late days.
For each line the cheapest option left out (``line_floor``) is remembered, so the lower bound stays valid for the
full problem and not just for the candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshfab.engines.routing.problem import FactoryStatus, Lane, RoutingProblem

FULL_OPTION_LIMIT = 400_000  # lines x factories x days up to which every option is enumerated
CANDIDATE_FACTORIES = 6  # cheapest factories kept per line
SPARE_FACTORIES = 4  # further capable factories drawn at random, so that lines have somewhere to go when the
# cheapest factories are full (the cheapest ones are often the same for every line of a destination)
ON_TIME_DAYS = 4
LATE_DAYS = 2
_CHUNK = 1_000_000  # (line, factory) pairs evaluated at once


@dataclass(frozen=True)
class OptionTable:
    line_ids: list[str]
    factory_ids: list[str]
    capabilities: list[str]
    horizon: int
    opt_line: np.ndarray  # sorted ascending
    opt_factory: np.ndarray
    opt_day: np.ndarray
    opt_cost: np.ndarray
    opt_parts: np.ndarray  # 5 x options: production, shipping, lateness, moves, trust
    line_start: np.ndarray  # options of line l are line_start[l]:line_start[l+1]
    ent_start: np.ndarray  # entries of option o are ent_start[o]:ent_start[o+1]
    ent_bucket: np.ndarray
    ent_minutes: np.ndarray
    capacity: np.ndarray  # minutes per bucket (factory, capability, day)
    line_floor: np.ndarray  # cheapest cost of an option not in the table (inf when complete)
    unassigned_cost: float

    @property
    def n_lines(self) -> int:
        return len(self.line_ids)

    def bucket(self, factory: int, capability: int, day: int) -> int:
        return (factory * len(self.capabilities) + capability) * self.horizon + day


def lateness_penalty(days_late: np.ndarray, problem: RoutingProblem) -> np.ndarray:
    w = problem.weights
    late = np.maximum(days_late, 0).astype(float)
    return w.lateness_per_day * late + w.lateness_per_day_squared * late * late


def build_options(problem: RoutingProblem) -> OptionTable:
    p = problem
    H = p.horizon_days
    fids = [f.id for f in p.factories]
    fidx = {f: i for i, f in enumerate(fids)}
    caps = sorted(
        {c for ln in p.lines for op in ln.operations for c in [op.capability]}
        | {c for ln in p.lines for m in ln.minutes_by_factory.values() for c in m}
        | {c for f in p.factories for c in f.cost_per_minute}
    )
    cidx = {c: i for i, c in enumerate(caps)}
    F, C, L = len(fids), len(caps), len(p.lines)
    regions = sorted({f.region for f in p.factories})
    dests = sorted({ln.ship_to for ln in p.lines})
    ridx, didx = {r: i for i, r in enumerate(regions)}, {d: i for i, d in enumerate(dests)}

    f_region = np.array([ridx[f.region] for f in p.factories], dtype=np.int64)
    f_active = np.array([f.status == FactoryStatus.ACTIVE for f in p.factories])
    f_paused = np.array([f.status == FactoryStatus.PAUSED for f in p.factories])
    f_trust_cost = np.array([p.weights.trust * (1.0 - f.trust) for f in p.factories])
    cpm = np.full((F, C), np.nan)
    capacity = np.zeros(F * C * H, dtype=np.int64)
    for i, f in enumerate(p.factories):
        for c, v in f.cost_per_minute.items():
            cpm[i, cidx[c]] = v
        for (c, d), m in f.capacity.items():
            if c in cidx:
                capacity[(i * C + cidx[c]) * H + d] += m
    lacks = np.isnan(cpm).astype(np.int64)
    cpm0 = np.nan_to_num(cpm)

    R, D = max(len(regions), 1), max(len(dests), 1)
    lane_has = np.zeros((R, D), dtype=bool)
    lane_tr, lane_cpl, lane_cpu = np.zeros((R, D), np.int64), np.zeros((R, D)), np.zeros((R, D))
    for lane in p.lanes:
        if lane.origin_region in ridx and lane.destination in didx:
            r, d = ridx[lane.origin_region], didx[lane.destination]
            lane_has[r, d] = True
            lane_tr[r, d], lane_cpl[r, d], lane_cpu[r, d] = lane.transit_days, lane.cost_per_line, lane.cost_per_unit

    minutes = np.zeros((L, C), dtype=np.int64)
    for i, ln in enumerate(p.lines):
        for c, m in ln.minutes().items():
            minutes[i, cidx[c]] = m
    qty = np.array([ln.quantity for ln in p.lines], dtype=float)
    promised = np.array([ln.promised_day for ln in p.lines], dtype=np.int64)
    release = np.array([max(0, ln.release_day) for ln in p.lines], dtype=np.int64)
    cur_f = np.array([fidx[ln.current_factory] if ln.current_factory else -1 for ln in p.lines], np.int64)
    cur_d = np.array([-1 if ln.current_day is None else ln.current_day for ln in p.lines], np.int64)
    dest = np.array([didx[ln.ship_to] for ln in p.lines], dtype=np.int64)
    overrides: dict[tuple[int, int], Lane] = {}
    lpos = {ln.id: i for i, ln in enumerate(p.lines)}
    for (f, lid), lane in p.line_lanes.items():
        if f in fidx and lid in lpos:
            overrides[(lpos[lid], fidx[f])] = lane
    special = {lpos[ln.id] for ln in p.lines if ln.minutes_by_factory} | {k[0] for k in overrides}

    full = L * F * H <= FULL_OPTION_LIMIT
    step = max(1, _CHUNK // max(F, 1))
    pieces: list[dict[str, np.ndarray]] = []
    floor = np.full(L, np.inf)
    for lo in range(0, L, step):
        hi_ = min(L, lo + step)
        rows = np.arange(lo, hi_)
        piece, floor[lo:hi_] = _chunk(
            p,
            rows,
            minutes,
            lacks,
            cpm0,
            f_region,
            f_active,
            f_paused,
            f_trust_cost,
            lane_has,
            lane_tr,
            lane_cpl,
            lane_cpu,
            qty,
            promised,
            release,
            cur_f,
            cur_d,
            dest,
            overrides,
            special,
            cidx,
            full,
        )
        pieces.append(piece)
    cat = {k: np.concatenate([pc[k] for pc in pieces]) for k in pieces[0]}
    return _finish(p, cat, capacity, floor, fids, caps, H)


def _chunk(
    p,
    rows,
    minutes,
    lacks,
    cpm0,
    f_region,
    f_active,
    f_paused,
    f_trust_cost,
    lane_has,
    lane_tr,
    lane_cpl,
    lane_cpu,
    qty,
    promised,
    release,
    cur_f,
    cur_d,
    dest,
    overrides,
    special,
    cidx,
    full,
):
    """Costs of every (line, factory) pair of a chunk of lines, then its candidate options."""
    H = p.horizon_days
    F = len(f_region)
    n = len(rows)
    base_mins = minutes[rows]
    mins: dict[tuple[int, int], np.ndarray] = {}  # per-factory minutes of special lines
    elig = (base_mins > 0).astype(np.int64) @ lacks.T == 0
    elig &= f_active[None, :] | (f_paused[None, :] & (cur_f[rows][:, None] == np.arange(F)[None, :]))
    elig &= lane_has[f_region[None, :], dest[rows][:, None]]
    elig &= (release[rows] < H)[:, None]
    prod = base_mins.astype(float) @ cpm0.T
    ship = (
        lane_cpl[f_region[None, :], dest[rows][:, None]]
        + lane_cpu[f_region[None, :], dest[rows][:, None]] * qty[rows][:, None]
    )
    transit = lane_tr[f_region[None, :], dest[rows][:, None]].copy()
    for r_local, r in enumerate(rows):
        if r in special:
            _patch_line(
                p,
                r,
                r_local,
                base_mins,
                mins,
                elig,
                prod,
                ship,
                transit,
                overrides,
                cidx,
                cpm0,
                lane_has,
                f_region,
                f_active,
                f_paused,
                cur_f,
                dest,
                lane_cpl,
                lane_cpu,
                qty,
            )
    cf = cur_f[rows][:, None]
    move = np.where((cf >= 0) & (cf != np.arange(F)[None, :]), p.weights.move, 0.0)
    base = prod + ship + move + f_trust_cost[None, :]
    rel = release[rows][:, None]
    latest_on_time = promised[rows][:, None] - transit
    best = base + lateness_penalty(rel + transit - promised[rows][:, None], p)
    best = np.where(elig, best, np.inf)

    if full:
        chosen = elig
        floor = np.full(n, np.inf)
    else:
        k = min(CANDIDATE_FACTORIES, F)
        top = np.argpartition(best, k - 1, axis=1)[:, :k] if k < F else np.tile(np.arange(F), (n, 1))
        chosen = np.zeros_like(elig)
        np.put_along_axis(chosen, top, True, axis=1)
        has_cur = cf[:, 0] >= 0
        chosen[np.nonzero(has_cur)[0], cf[has_cur, 0]] = True
        chosen &= elig
        spare = min(SPARE_FACTORIES, F - k)
        if spare > 0:
            noise = np.random.default_rng(rows[0]).random((n, F))
            noise[chosen | ~elig] = np.inf
            extra = np.argpartition(noise, spare - 1, axis=1)[:, :spare]
            ok = np.take_along_axis(np.isfinite(noise), extra, axis=1)
            np.put_along_axis(chosen, extra, ok | np.take_along_axis(chosen, extra, axis=1), axis=1)
        floor = np.where(chosen, np.inf, best).min(axis=1)
    li, fi = np.nonzero(chosen)
    if full:
        slots = np.tile(np.arange(H), (len(li), 1))
        valid = slots >= rel[li, 0][:, None]
        omitted = np.full(len(li), np.inf)
    else:
        slots, valid, omitted = _candidate_days(
            p,
            rel[li, 0],
            latest_on_time[li, fi],
            base[li, fi],
            transit[li, fi],
            promised[rows][li],
            np.where(cf[li, 0] == fi, cur_d[rows][li], -1),
        )
        np.minimum.at(floor, li, omitted)
    si, sj = np.nonzero(valid)
    day = slots[si, sj]
    ol, of = li[si], fi[si]
    keep = ~f_paused[of] | (day == cur_d[rows][ol])  # a paused factory only keeps a line on its current day
    day, ol, of = day[keep], ol[keep], of[keep]
    late = lateness_penalty(day + transit[ol, of] - promised[rows][ol], p)
    cd = cur_d[rows][ol]
    resched = np.where((cf[ol, 0] == of) & (cd >= 0) & (cd != day), p.weights.reschedule, 0.0)
    piece = {
        "line": rows[ol],
        "factory": of,
        "day": day,
        "prod": prod[ol, of],
        "ship": ship[ol, of],
        "late": late,
        "move": move[ol, of] + resched,
        "trust": f_trust_cost[of],
        "mins": base_mins[ol],
    }
    if mins:
        for k in range(len(ol)):
            vec = mins.get((int(ol[k]), int(of[k])))
            if vec is not None:
                piece["mins"][k] = vec
    return piece, floor


def _patch_line(
    p,
    r,
    r_local,
    base_mins,
    mins,
    elig,
    prod,
    ship,
    transit,
    overrides,
    cidx,
    cpm0,
    lane_has,
    f_region,
    f_active,
    f_paused,
    cur_f,
    dest,
    lane_cpl,
    lane_cpu,
    qty,
) -> None:
    """Re-derive one line's pairs when it carries per-factory minutes or per-factory lanes."""
    ln = p.lines[r]
    for fi, f in enumerate(p.factories):
        if f.id in ln.minutes_by_factory:
            vec = np.zeros(len(cidx), np.int64)
            for c, m in ln.minutes_by_factory[f.id].items():
                vec[cidx[c]] = m
            mins[(r_local, fi)] = vec
        lane = overrides.get((r, fi))
        has_lane = lane is not None or bool(lane_has[f_region[fi], dest[r]])
        if lane is not None:
            ship[r_local, fi] = lane.cost_per_line + lane.cost_per_unit * qty[r]
            transit[r_local, fi] = lane.transit_days
        vec = mins.get((r_local, fi), base_mins[r_local])
        needed = [c for c, i in cidx.items() if vec[i] > 0]
        capable = all(c in f.cost_per_minute for c in needed) and (bool(ln.operations) or f.id in ln.minutes_by_factory)
        status_ok = bool(f_active[fi] or (f_paused[fi] and cur_f[r] == fi))
        prod[r_local, fi] = float(vec @ cpm0[fi])
        elig[r_local, fi] = capable and status_ok and has_lane and ln.release_day < p.horizon_days


def _candidate_days(p, rel, latest, base, transit, promised, cur_day):
    """A few days per (line, factory): spread over the on-time window, the first late days, the current day."""
    H = p.horizon_days
    last_on = np.minimum(latest, H - 1)
    n_on = np.maximum(last_on - rel + 1, 0)
    k = np.minimum(n_on, ON_TIME_DAYS)
    frac = np.linspace(0.0, 1.0, ON_TIME_DAYS)[None, :]
    span = np.maximum(n_on - 1, 0)[:, None]
    # evenly spaced from the latest on-time day backwards; k < ON_TIME_DAYS means the window is short
    on_days = np.where(
        k[:, None] == ON_TIME_DAYS,
        last_on[:, None] - np.rint(frac * span).astype(np.int64),
        last_on[:, None] - np.arange(ON_TIME_DAYS)[None, :],
    )
    on_valid = np.arange(ON_TIME_DAYS)[None, :] < k[:, None]
    first_late = np.maximum(rel, latest + 1)
    late_days = first_late[:, None] + np.arange(LATE_DAYS)[None, :]
    late_valid = late_days < H
    cur = cur_day[:, None]
    duplicate = (on_valid & (on_days == cur)).any(1) | (late_valid & (late_days == cur)).any(1)
    cur_valid = (cur >= rel[:, None]) & ~duplicate[:, None]
    slots = np.concatenate([on_days, late_days, cur], axis=1)
    valid = np.concatenate([on_valid, late_valid, cur_valid], axis=1)
    omitted_late = first_late + LATE_DAYS
    omitted = np.where(
        n_on > ON_TIME_DAYS,
        base,
        np.where(omitted_late < H, base + lateness_penalty(omitted_late + transit - promised, p), np.inf),
    )
    return slots, valid, omitted


def _finish(
    p: RoutingProblem,
    cat: dict[str, np.ndarray],
    capacity: np.ndarray,
    floor: np.ndarray,
    fids: list[str],
    caps: list[str],
    H: int,
) -> OptionTable:
    C = len(caps)
    mins = cat["mins"].reshape(len(cat["line"]), C)
    oi, ci = np.nonzero(mins > 0)
    bucket = (cat["factory"][oi] * C + ci) * H + cat["day"][oi]
    emin = mins[oi, ci]
    too_big = np.zeros(len(cat["line"]), dtype=bool)
    too_big[oi[emin > capacity[bucket]]] = True
    keep = ~too_big
    order = np.lexsort((cat["day"], cat["factory"], cat["line"]))
    order = order[keep[order]]
    new_id = np.full(len(keep), -1, dtype=np.int64)
    new_id[order] = np.arange(len(order))
    e_keep = keep[oi]
    e_opt = new_id[oi[e_keep]]
    e_order = np.argsort(e_opt, kind="stable")
    ent_bucket, ent_minutes = bucket[e_keep][e_order], emin[e_keep][e_order]
    counts = np.bincount(e_opt, minlength=len(order))
    ent_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    L = len(p.lines)
    opt_line = cat["line"][order]
    line_start = np.searchsorted(opt_line, np.arange(L + 1)).astype(np.int64)
    parts = np.stack([cat[k][order] for k in ("prod", "ship", "late", "move", "trust")])
    return OptionTable(
        line_ids=[ln.id for ln in p.lines],
        factory_ids=fids,
        capabilities=caps,
        horizon=H,
        opt_line=opt_line,
        opt_factory=cat["factory"][order],
        opt_day=cat["day"][order],
        opt_cost=parts.sum(axis=0),
        opt_parts=parts,
        line_start=line_start,
        ent_start=ent_start,
        ent_bucket=ent_bucket,
        ent_minutes=ent_minutes,
        capacity=capacity,
        line_floor=floor,
        unassigned_cost=p.weights.unassigned,
    )
