"""Learn each lane's real hand-over-to-delivery time from the parcels it carried.

Why: a promise counts a lane's stated p95 transit plus its customs days, but what carriers state can be too
hopeful. Clearance takes hours after the customs days, holds add days, and tails run past p95. In the digital
twin about four in five broken promises were handed over on time and then arrived late. A promise is honest
only if it counts what the lane really takes. So, per lane, a high percentile (`Settings.transit_quantile`,
0.95 by default, like the stated figures) of the delivered parcels'
hours from ``ship_at`` to ``delivered_at`` over a recent window is compared with the stated allowance. What it
exceeds that by becomes the lane's ``learned_extra_hours``, which every promise, parcel choice and re-plan
then adds (``Lane.allowance_hours``). The figure also falls back when the record improves. A lane with too
few deliveries in the window keeps its figure: a handful of parcels says little about a high percentile.

Parcels still travelling are not in the record yet, so a lane that has just turned slow is learnt late; the
window keeps that lag to weeks.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import func, select

from meshfab.domain.events import Event
from meshfab.services.platform import Platform
from meshfab.store.repositories import rows_by_key
from meshfab.store.tables import LaneRow, ParcelRow

WINDOW_DAYS = 28
MIN_PARCELS = 30  # deliveries in the window below which a lane's figure is left as it is


def learned_extra_hours(stated_hours: int, observed_hours: float) -> int:
    """Whole hours the observed quantile runs past the stated allowance (never negative)."""
    return max(0, math.ceil(observed_hours - stated_hours - 1e-9))


def learn_lane_transit(platform: Platform) -> dict[str, int]:
    """Update every lane with enough recent deliveries; returns the lanes whose figure changed, with the new
    figure. Each change is an event (``lane.allowance_changed``), so a later date in a quote can be traced."""
    now = platform.clock.now()
    hours = func.extract("epoch", ParcelRow.delivered_at - ParcelRow.ship_at) / 3600.0
    observed = (
        select(
            ParcelRow.lane_id,
            func.count(),
            func.percentile_cont(platform.settings.transit_quantile).within_group(hours),
        )
        .where(ParcelRow.delivered_at.is_not(None), ParcelRow.delivered_at >= now - timedelta(days=WINDOW_DAYS))
        .group_by(ParcelRow.lane_id)
    )
    changed: dict[str, int] = {}
    with platform.uow() as uow:
        rows = uow.session.execute(observed).all()
        lanes = rows_by_key(uow.session, LaneRow, LaneRow.id, [row[0] for row in rows])
        for lane_id, parcels, quantile in rows:
            lane = lanes.get(lane_id)
            if lane is None or parcels < MIN_PARCELS:
                continue
            extra = learned_extra_hours(lane.transit_hours_p95 + 24 * lane.customs_days, float(quantile))
            if extra == lane.learned_extra_hours:
                continue
            payload = {"lane_id": lane_id, "before": lane.learned_extra_hours, "after": extra, "parcels": parcels}
            uow.emit(Event("lane.allowance_changed", f"lane:{lane_id}", payload, now))
            lane.learned_extra_hours = extra
            changed[lane_id] = extra
        uow.commit()
    if changed:
        platform.capacity.invalidate()  # quotes read lanes through the cached snapshot
    return changed
