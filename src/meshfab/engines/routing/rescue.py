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

from meshfab.engines.routing.heuristics import residual_capacity
from meshfab.engines.routing.options import OptionTable, lateness_penalty
from meshfab.engines.routing.problem import FactoryStatus, RoutingProblem

RESCUE_OPTIONS = 8  # fitting options kept per stranded line
_BLOCK = 256  # stranded lines of one capability set whose costs are computed at once


def rescue_options(
    p: RoutingProblem, t: OptionTable, choice: np.ndarray, deadline: float
) -> tuple[OptionTable, np.ndarray]:
    """``t`` with up to :data:`RESCUE_OPTIONS` fitting options added for each stranded line of ``choice``, and the
    plan carried over to the new table with each rescued line on its cheapest fitting option.

    Lines are taken in blocks of one capability set (so only capable factories and the needed buckets are
    scanned) and placed one by one, the residual capacity updated after each, so rescued lines do not all
    claim the same room."""
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
    room = residual_capacity(t, choice).reshape(F, C, H)
    fid = {f: i for i, f in enumerate(t.factory_ids)}
    special = {k[1] for k in p.line_lanes}
    groups: dict[tuple[str, ...], list[int]] = {}
    for r in np.nonzero(choice < 0)[0].tolist():
        ln = p.lines[r]
        if not ln.minutes_by_factory and ln.id not in special:
            groups.setdefault(tuple(sorted(ln.minutes())), []).append(r)
    pieces: list[tuple[np.ndarray, ...]] = []
    placed: dict[int, int] = {}  # line -> position of its chosen option among the new ones
    n_new = 0
    days = np.arange(H)
    for need, rows in groups.items():
        ci = np.array([cidx[c] for c in need])
        facs = np.nonzero(active & ~np.isnan(cpm[:, ci]).any(axis=1))[0]
        if len(facs) == 0:
            continue
        for lo in range(0, len(rows), _BLOCK):
            if time.perf_counter() > deadline:
                break
            block = rows[lo : lo + _BLOCK]
            n = len(block)
            mins = np.array([[p.lines[r].minutes()[c] for c in need] for r in block], dtype=np.int64)
            ship, transit = np.zeros((n, len(facs))), np.zeros((n, len(facs)), dtype=np.int64)
            has_lane = np.zeros((n, len(facs)), dtype=bool)
            for k, r in enumerate(block):
                ln = p.lines[r]
                for ri, reg in enumerate(regions):
                    lane = lanes.get((reg, ln.ship_to))
                    if lane is not None:
                        cols = f_region[facs] == ri
                        has_lane[k, cols] = True
                        ship[k, cols] = lane.cost_per_line + lane.cost_per_unit * ln.quantity
                        transit[k, cols] = lane.transit_days
            prod = mins.astype(float) @ cpm[np.ix_(facs, ci)].T
            cur = np.array([fid.get(p.lines[r].current_factory or "", -1) for r in block])
            cur_day = np.array([-1 if p.lines[r].current_day is None else p.lines[r].current_day for r in block])
            move = np.where((cur[:, None] >= 0) & (cur[:, None] != facs[None, :]), p.weights.move, 0.0)
            release = np.array([max(0, p.lines[r].release_day) for r in block])
            promised = np.array([p.lines[r].promised_day for r in block])
            late = lateness_penalty(days[None, None, :] + transit[:, :, None] - promised[:, None, None], p)
            here = (cur[:, None, None] == facs[None, :, None]) & (cur_day[:, None, None] >= 0)
            resched = np.where(here & (cur_day[:, None, None] != days[None, None, :]), p.weights.reschedule, 0.0)
            total = (prod + ship + move + trust[facs][None, :])[:, :, None] + late + resched
            total = np.where(has_lane[:, :, None] & (days[None, None, :] >= release[:, None, None]), total, np.inf)
            sub_room = room[np.ix_(facs, ci)]  # factories x needs x days
            for k in range(n):  # one by one, against the room the previous ones left
                fits = np.all(sub_room >= mins[k][None, :, None], axis=1)
                cand = np.where(fits, total[k], np.inf).ravel()
                keep = min(RESCUE_OPTIONS, len(cand))
                top = np.argpartition(cand, keep - 1)[:keep] if keep < len(cand) else np.arange(len(cand))
                top = top[np.isfinite(cand[top])]
                if len(top) == 0:
                    continue
                top = top[np.argsort(cand[top], kind="stable")]
                fi, di = np.divmod(top, H)
                sub_room[fi[0], :, di[0]] -= mins[k]
                placed[block[k]] = n_new
                full_mins = np.zeros((len(top), C), dtype=np.int64)
                full_mins[:, ci] = mins[k]
                parts = np.stack(
                    [prod[k, fi], ship[k, fi], late[k, fi, di], move[k, fi] + resched[k, fi, di], trust[facs[fi]]]
                )
                pieces.append((np.full(len(top), block[k]), facs[fi], di, parts, full_mins))
                n_new += len(top)
            room[np.ix_(facs, ci)] = sub_room
    if not pieces:
        return t, choice
    wide, new_index = _merge(t, *(np.concatenate([pc[i] for pc in pieces], axis=-1 if i == 3 else 0) for i in range(5)))
    out = np.where(choice >= 0, new_index[np.maximum(choice, 0)], -1)
    for line, pos in placed.items():
        out[line] = new_index[len(t.opt_line) + pos]
    return wide, out


def _merge(
    t: OptionTable, line: np.ndarray, fac: np.ndarray, day: np.ndarray, parts: np.ndarray, mins: np.ndarray
) -> tuple[OptionTable, np.ndarray]:
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
    idx = np.repeat(starts[order], new_counts) + (
        np.arange(int(new_counts.sum())) - np.repeat(np.cumsum(new_counts) - new_counts, new_counts)
    )
    all_parts = np.concatenate([t.opt_parts, parts], axis=1)[:, order]
    opt_line = all_line[order]
    new_index = np.empty(len(order), dtype=np.int64)
    new_index[order] = np.arange(len(order))  # every option's (old and appended) position in the new table
    return replace(
        t,
        opt_line=opt_line,
        opt_factory=np.concatenate([t.opt_factory, fac])[order],
        opt_day=np.concatenate([t.opt_day, day])[order],
        opt_cost=all_parts.sum(axis=0),
        opt_parts=all_parts,
        line_start=np.searchsorted(opt_line, np.arange(t.n_lines + 1)).astype(np.int64),
        ent_start=np.concatenate([[0], np.cumsum(new_counts)]).astype(np.int64),
        ent_bucket=bucket[idx],
        ent_minutes=minutes[idx],
    ), new_index
