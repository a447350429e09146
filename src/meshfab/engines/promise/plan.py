"""Vectorised production plan: for every factory at once, when the line's operations would be done.

One pass per operation over factory × day arrays of the operation's capability (see the package docstring for
the rules). The outputs are per factory; ``used`` keeps each operation's minutes per day, from which the
reservations of the few chosen offers are read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from zoneinfo import ZoneInfo

import numpy as np

from .problem import OperationNeed, QuoteRequest
from .snapshot import CapacitySnapshot
from .timegrid import to_minutes


@dataclass
class OperationPlan:
    op: OperationNeed
    need: np.ndarray  # factory → minutes held (setup included)
    setup: np.ndarray  # factory → setup minutes charged
    saved: np.ndarray  # factory → setup minutes saved (family already in the first bucket)
    used: np.ndarray  # factory × day → minutes held that day
    first: np.ndarray  # factory → first day used


@dataclass
class LinePlan:
    feasible: np.ndarray  # factory → the whole line fits within the horizon
    ready: np.ndarray  # factory → epoch minutes when the last operation ends
    ready_day: np.ndarray  # factory → day index of that instant
    cost: np.ndarray  # factory → production cost, minor units
    operations: list[OperationPlan]


class Clock:
    """What ``now`` means to each factory: minutes of calendar already gone and the first local day allowed."""

    def __init__(self, snap: CapacitySnapshot, now: datetime, horizon_days: int) -> None:
        self.minutes = to_minutes(now)
        cols = int(np.count_nonzero(snap.day_first_start < self.minutes))
        cols = min(snap.days, cols)
        starts, ends = snap.starts[:, :cols], snap.ends[:, :cols]
        elapsed = np.clip(self.minutes - starts, 0.0, ends - starts).sum(axis=2)
        calendar = snap.calendar_minutes[:, :cols]
        self.cols = cols
        self.fraction = np.divide(elapsed, calendar, out=np.ones_like(elapsed), where=calendar > 0)
        today = np.array([(now.astimezone(ZoneInfo(z)).date() - snap.origin).days for z in snap.zones])
        self.today = today[snap.zone_of]
        self.limit = np.minimum(self.today + horizon_days, snap.days)

    def load(self, snap: CapacitySnapshot, capability: str) -> np.ndarray:
        """Minutes of each bucket already spoken for: reservations, plus the part of today's calendar gone by.

        Today's reservations are assumed still to do, after ``now``: a promise errs on the late side.
        """
        load = snap.reserved[capability].astype(np.float64)
        if self.cols:
            load[:, : self.cols] += snap.available[capability][:, : self.cols] * self.fraction
        return load


def free_minutes(available: np.ndarray, load: np.ndarray, calendar: np.ndarray) -> np.ndarray:
    """Whole minutes a bucket can still take: what is available less its load, rounded down.

    A day without shifts (weekend, holiday) takes nothing, even if a stored bucket gives it minutes: there is
    no shift to lay the work on, so it would have no finish instant (``position`` needs the day's shifts).
    ``plan_line`` and ``check`` both decide room with this, so a plan quoted is a plan that re-checks.
    """
    return np.where(calendar > 0, np.floor(np.maximum(available - load, 0.0)), 0.0)


def position(
    snap: CapacitySnapshot, capability: str, rows: np.ndarray, days: np.ndarray, held: np.ndarray
) -> np.ndarray:
    """Instant at which ``held`` minutes of a bucket are used up, the bucket filling from its day's first shift.

    Only meaningful on a day with shifts (see ``free_minutes``): on a day without, it would answer the epoch.
    """
    available = snap.available[capability][rows, days].astype(np.float64)
    calendar = snap.calendar_minutes[rows, days]
    at = np.divide(held * calendar, available, out=np.zeros_like(held), where=available > 0)
    starts, ends = snap.starts[rows, days], snap.ends[rows, days]
    lengths = ends - starts
    cum = lengths.cumsum(axis=1)
    k = np.minimum((cum < at[:, None] - 1e-9).sum(axis=1), lengths.shape[1] - 1)
    idx = np.arange(len(rows))
    return starts[idx, k] + at - (cum[idx, k] - lengths[idx, k])


def walk(snap: CapacitySnapshot, day: np.ndarray, at: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(day, instant) at which ``work`` shift minutes begun at ``at`` (on each factory's ``day``) are done.

    The shifts are walked forward, spilling into the next days; ``inf`` when the snapshot's days run out.
    Buckets say how much a day can hold, not in what order: a line's operations run one after another on the
    floor, and this is the time that takes (a lot of cut, sew, print and pack on single machines does not fit
    the first hour of a day even when every bucket has room).
    """
    day, at, left = day.copy(), at.astype(np.float64), work.astype(np.float64)
    end = np.where(left > 1e-9, np.inf, at)
    active = np.flatnonzero(left > 1e-9)
    while len(active):
        active = active[day[active] < snap.calendar_days]
        if not len(active):
            break
        d = day[active]
        starts = np.maximum(snap.starts[active, d], at[active, None])
        spans = np.maximum(snap.ends[active, d] - starts, 0.0)
        cum = spans.cumsum(axis=1)
        fits = cum[:, -1] >= left[active] - 1e-9
        f = active[fits]
        k = np.minimum((cum[fits] < left[f, None] - 1e-9).sum(axis=1), spans.shape[1] - 1)
        i = np.flatnonzero(fits)
        end[f] = starts[i, k] + left[f] - (cum[i, k] - spans[i, k])
        rest = active[~fits]
        left[rest] -= cum[~fits, -1]
        day[rest] += 1
        at[rest] = -np.inf
        active = rest
    return day, end


def plan_line(snap: CapacitySnapshot, request: QuoteRequest, clock: Clock) -> LinePlan:
    n, days = len(snap.factories), snap.days
    rows = np.arange(n)
    cols = np.arange(days)[None, :]
    window = cols < clock.limit[:, None]
    feasible = snap.accepts.copy()
    start_day = np.maximum(clock.today, 0)
    start_at = np.full(n, clock.minutes)
    cost = np.zeros(n, dtype=np.int64)
    extra: dict[str, np.ndarray] = {}
    plans: list[OperationPlan] = []
    lots = np.ceil(request.quantity / snap.max_lot)
    ops = sorted(request.operations, key=lambda o: o.sequence)
    for _, group in groupby(ops, key=lambda o: o.sequence):
        group_end_day, group_end_at = start_day.copy(), start_at.copy()
        for op in group:
            cap = op.capability
            if cap not in snap.available:
                feasible[:] = False
                continue
            feasible &= snap.capable[cap]
            load = clock.load(snap, cap)
            if cap in extra:
                load += extra[cap]
            free = free_minutes(snap.available[cap], load, snap.calendar_minutes[:, :days])
            free *= window & (cols >= start_day[:, None])
            first = (free > 0).argmax(axis=1)
            family = snap.family_mask(cap, op.setup_family)
            present = family[rows, first] if family is not None else np.zeros(n, dtype=bool)
            saved = np.where(present, op.setup_minutes, 0)
            setup = (op.setup_minutes * lots).astype(np.int64) - saved
            need = setup + math.ceil(op.run_minutes_per_unit * request.quantity - 1e-9)
            cum = free.cumsum(axis=1)
            feasible &= cum[:, -1] >= need
            last = np.where(need > 0, (cum >= need[:, None]).argmax(axis=1), start_day)
            used = np.clip(need[:, None] - (cum - free), 0.0, free)
            finish = position(snap, cap, rows, last, load[rows, last] + used[rows, last])
            finish = np.where(need > 0, np.maximum(finish, start_at), start_at)
            machines, efficiency = snap.machine_rate[cap]
            flow = need / (np.maximum(1.0, np.minimum(lots, machines)) * efficiency)
            flow_day, flow_end = walk(snap, start_day, start_at, np.where(need > 0, flow, 0.0))
            feasible &= np.isfinite(flow_end)
            by_flow = flow_end > finish
            finish = np.where(by_flow, flow_end, finish)
            last = np.where(by_flow, flow_day, last)
            later = finish > group_end_at
            group_end_at = np.where(later, finish, group_end_at)
            group_end_day = np.where(later, last, group_end_day)
            cost += need * snap.cost[cap]
            extra[cap] = extra.get(cap, 0.0) + used
            plans.append(OperationPlan(op, need, setup, saved, used, first))
        start_day, start_at = group_end_day, group_end_at
    return LinePlan(feasible, start_at, start_day, cost, plans)
