"""Learn each lane's real hand-over-to-delivery time from the parcels it carried.

Why: a promise counts a lane's stated p95 transit plus its customs days, but what carriers state can be too
hopeful. Clearance takes hours after the customs days, holds add days, and tails run past p95. In the digital
twin about four in five broken promises were handed over on time and then arrived late. A promise is honest
only if it counts what the lane really takes.

How: per lane, over a recent window, a high percentile (`Settings.transit_quantile`, 0.98 by default) of how
far the delivered parcels' hours from ``ship_at`` to ``delivered_at`` ran past the stated allowance becomes
the lane's ``learned_extra_hours`` (0 when they do not run past). Every promise, parcel choice and re-plan then
adds it (``Lane.allowance_hours``), and it falls back when the record improves.
- The default covers 98 in 100 parcels, not the stated 95: a promise also carries the floor's risk. In the
  twin, per-lane learning at 0.95 kept 92 % of promises; pooled (below) at 0.98, 96 %.
- A lane with too few deliveries of its own in the window takes the pooled record of the same service to the
  same country (the other origins' lanes: six a service in the demo world), so learning starts before each
  lane has a record of its own. With too few there too, it keeps its figure: a handful of parcels says little
  about a high percentile.

Parcels still travelling are not in the record yet, so a lane that has just turned slow is learnt late; the
window keeps that lag to weeks.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import func, select

from meshfab.domain.events import Event
from meshfab.services.platform import Platform
from meshfab.store.tables import LaneRow, ParcelRow

WINDOW_DAYS = 28
MIN_PARCELS = 30  # deliveries in the window below which a lane's figure is left as it is


def learned_extra_hours(excess_hours: float) -> int:
    """Whole hours to add for a quantile of parcels' hours past the stated allowance (never negative)."""
    return max(0, math.ceil(excess_hours - 1e-9))


def learn_lane_transit(platform: Platform) -> dict[str, int]:
    """Update every lane whose record (or its service's) is long enough; returns the lanes whose figure changed,
    with the new figure. Each change is an event (``lane.allowance_changed``), so a later date in a quote can be
    traced."""
    now = platform.clock.now()
    stated = LaneRow.transit_hours_p95 + 24 * LaneRow.customs_days
    excess = func.extract("epoch", ParcelRow.delivered_at - ParcelRow.ship_at) / 3600.0 - stated
    recent = (
        select()
        .select_from(ParcelRow)
        .join(LaneRow, LaneRow.id == ParcelRow.lane_id)
        .where(ParcelRow.delivered_at.is_not(None), ParcelRow.delivered_at >= now - timedelta(days=WINDOW_DAYS))
    )
    quantile = func.percentile_cont(platform.settings.transit_quantile).within_group(excess)
    changed: dict[str, int] = {}
    with platform.uow() as uow:
        own = {
            lane_id: (n, q)
            for lane_id, n, q in uow.session.execute(
                recent.add_columns(ParcelRow.lane_id, func.count(), quantile).group_by(ParcelRow.lane_id)
            )
        }
        pooled = {
            (country, service): (n, q)
            for country, service, n, q in uow.session.execute(
                recent.add_columns(LaneRow.destination_country, LaneRow.service, func.count(), quantile).group_by(
                    LaneRow.destination_country, LaneRow.service
                )
            )
        }
        for lane in uow.session.scalars(select(LaneRow).order_by(LaneRow.id)):
            record = own.get(lane.id, (0, 0.0))
            if record[0] < MIN_PARCELS:  # too few of its own: the same service to the same country, pooled
                record = pooled.get((lane.destination_country, lane.service), (0, 0.0))
            parcels, observed = record
            if parcels < MIN_PARCELS:
                continue
            extra = learned_extra_hours(float(observed))
            if extra == lane.learned_extra_hours:
                continue
            payload = {"lane_id": lane.id, "before": lane.learned_extra_hours, "after": extra, "parcels": parcels}
            uow.emit(Event("lane.allowance_changed", f"lane:{lane.id}", payload, now))
            lane.learned_extra_hours = extra
            changed[lane.id] = extra
        uow.commit()
    if changed:
        platform.capacity.invalidate()  # quotes read lanes through the cached snapshot
    return changed
