"""Rescue options for lines the candidate table strands.

At scale each line only gets a few candidate factories and days. A line needing several capabilities must find
room in all their buckets at one factory on one day, and the cheap candidates are the ones every line wants, so
after the first plan such lines can be left with nothing that fits. For them this module looks at *every*
capable factory and day, keeps the (factory, day) pairs whose buckets still have room for the whole line in the
residual capacity of the current plan, and adds the cheapest few as new options. Adding options to the table
keeps the Lagrangian bound valid: ``line_floor`` was a minimum over a superset of what is now left out.
Lines with per-factory minutes or per-line lanes are left to the candidate table (they are rare and small).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from meshfab.engines.routing.options import OptionTable, lateness_penalty
from meshfab.engines.routing.problem import FactoryStatus, RoutingProblem

RESCUE_OPTIONS = 8  # fitting options kept per stranded line
_BLOCK = 256  # stranded lines examined at once (lines x factories x days x capabilities booleans)


def rescue_options(p: RoutingProblem, t: OptionTable, stranded: np.ndarray, residual: np.ndarray,
                   deadline: float) -> tuple[OptionTable, np.ndarray]:
    """``t`` with up to :data:`RESCUE_OPTIONS` fitting options added for each stranded line, and the new index of
    every old option (so that a plan over ``t`` can be carried over)."""
    F, C, H = len(t.factory_ids), len(t.capabilities), t.horizon
    cidx = {c: i for i, c in enumerate(t.capabilities)}
    regions = sorted({f.region for f in p.factories})
    f_region = np.array([regions.index(f.region) for f in p.factories])
    cpm = np.full((F, C), np.nan)
    for i, f in enumerate(p.factories):
        for c, v in f.cost_per_minute.items():
            cpm[i, cidx[c]] = v
    active = np.array([f.status == FactoryStatus.ACTIVE for f in p.factories])
    trust = np.array([p.weights.trust * (1.0 - f.trust) for f in p.factories])
    lanes = {(ln.origin_region, ln.destination): ln for ln in p.lanes}
    room = residual.reshape(F, C, H)
    fid = {f: i for i, f in enumerate(t.factory_ids)}
    rows = [int(r) for r in stranded if not p.lines[int(r)].minutes_by_factory
            and not any(k[1] == p.lines[int(r)].id for k in p.line_lanes)]
    pieces: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(rows), _BLOCK):
        if time.perf_counter() > deadline:
            break
        block = rows[lo:lo + _BLOCK]
        n = len(block)
        mins = np.zeros((n, C), dtype=np.int64)
        ship, transit = np.zeros((n, F)), np.zeros((n, F), dtype=np.int64)
        has_lane = np.zeros((n, F), dtype=bool)
        for k, r in enumerate(block):
            ln = p.lines[r]
            for c, m in ln.minutes().items():
                mins[k, cidx[c]] = m
            for ri, reg in enumerate(regions):
                lane = lanes.get((reg, ln.ship_to))
                if lane is not None:
                    cols = f_region == ri
                    has_lane[k, cols] = True
                    ship[k, cols] = lane.cost_per_line + lane.cost_per_unit * ln.quantity
                    transit[k, cols] = lane.transit_days
        needs = mins > 0
        capable = (needs.astype(np.int64) @ np.isnan(cpm).T.astype(np.int64)) == 0
        prod = mins.astype(float) @ np.nan_to_num(cpm).T
        cur = np.array([fid.get(p.lines[r].current_factory or "", -1) for r in block])
        cur_day = np.array([-1 if p.lines[r].current_day is None else p.lines[r].current_day for r in block])
        move = np.where((cur[:, None] >= 0) & (cur[:, None] != np.arange(F)[None, :]), p.weights.move, 0.0)
        ok = capable & has_lane & active[None, :]
        fits = np.all((room[None, :, :, :] >= mins[:, None, :, None]) | ~needs[:, None, :, None], axis=2)
        release = np.array([max(0, p.lines[r].release_day) for r in block])
        days = np.arange(H)
        fits &= ok[:, :, None] & (days[None, None, :] >= release[:, None, None])
        promised = np.array([p.lines[r].promised_day for r in block])
        late = lateness_penalty(days[None, None, :] + transit[:, :, None] - promised[:, None, None], p)
        resched = np.where((cur[:, None, None] == np.arange(F)[None, :, None]) & (cur_day[:, None, None] >= 0)
                           & (cur_day[:, None, None] != days[None, None, :]), p.weights.reschedule, 0.0)
        total = (prod + ship + move + trust[None, :])[:, :, None] + late + resched
        total = np.where(fits, total, np.inf).reshape(n, F * H)
        keep = min(RESCUE_OPTIONS, F * H)
        top = np.argpartition(total, keep - 1, axis=1)[:, :keep] if keep < F * H else np.tile(np.arange(F * H), (n, 1))
        li, kk = np.nonzero(np.isfinite(np.take_along_axis(total, top, axis=1)))
        fi, di = np.divmod(top[li, kk], H)
        parts = np.stack([prod[li, fi], ship[li, fi], late[li, fi, di], move[li, fi] + resched[li, fi, di],
                          trust[fi]])
        pieces.append((np.asarray(block)[li], fi, di, parts, mins[li]))
    if not pieces:
        return t, np.arange(len(t.opt_line))
    return _merge(t, *(np.concatenate([pc[i] for pc in pieces], axis=-1 if i == 3 else 0) for i in range(5)))


def _merge(t: OptionTable, line: np.ndarray, fac: np.ndarray, day: np.ndarray, parts: np.ndarray,
           mins: np.ndarray) -> tuple[OptionTable, np.ndarray]:
    """Append options (with their bucket entries) and restore the line-sorted layout."""
    C, H = len(t.capabilities), t.horizon
    all_line = np.concatenate([t.opt_line, line])
    order = np.lexsort((np.concatenate([t.opt_day, day]), np.concatenate([t.opt_factory, fac]), all_line))
    oi, ci = np.nonzero(mins > 0)
    new_bucket = (fac[oi] * C + ci) * H + day[oi]
    counts = np.concatenate([np.diff(t.ent_start), np.bincount(oi, minlength=len(line))])
    bucket = np.concatenate([t.ent_bucket, new_bucket])
    minutes = np.concatenate([t.ent_minutes, mins[oi, ci]])
    starts = np.concatenate([[0], np.cumsum(counts)])
    new_counts = counts[order]
    idx = np.repeat(starts[order], new_counts) + (np.arange(int(new_counts.sum()))
                                                  - np.repeat(np.cumsum(new_counts) - new_counts, new_counts))
    all_parts = np.concatenate([t.opt_parts, parts], axis=1)[:, order]
    opt_line = all_line[order]
    new_index = np.empty(len(order), dtype=np.int64)
    new_index[order] = np.arange(len(order))
    return replace(
        t, opt_line=opt_line, opt_factory=np.concatenate([t.opt_factory, fac])[order],
        opt_day=np.concatenate([t.opt_day, day])[order], opt_cost=all_parts.sum(axis=0), opt_parts=all_parts,
        line_start=np.searchsorted(opt_line, np.arange(t.n_lines + 1)).astype(np.int64),
        ent_start=np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64), ent_bucket=bucket[idx],
        ent_minutes=minutes[idx],
    ), new_index[: len(t.opt_line)]
