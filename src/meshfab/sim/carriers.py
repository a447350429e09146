"""Parcels on their way: booked with the `simulated` carrier adapter and polled for scans, as `serve` would.

`SimulatedCarrier` draws transit around the lane's p50 with a tail beyond p95, customs time and holds for
cross-border parcels, and late scans. Every poll's scans go through `record_scans`, so the platform itself flags
customs holds, closes promises as kept or broken and moves orders to delivered.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import simpy

from meshfab.carriers import Booking, SimulatedCarrier
from meshfab.domain.parcels import TrackingEvent
from meshfab.services.platform import Platform
from meshfab.services.shipping import customs_rules, record_scans
from meshfab.sim.clock import SimClock
from meshfab.sim.policies import OPERATOR
from meshfab.sim.scenario import Carriers
from meshfab.store.repositories import rows_by_key
from meshfab.store.tables import FactoryRow, OrderRow, ParcelRow


@dataclass(frozen=True)
class ParcelRef:
    """The part of a `ParcelPlan` a carrier needs to book: its key and the border it may cross."""

    key: str
    origin_country: str
    destination_country: str


class Shipping:
    def __init__(
        self, env: simpy.Environment, platform: Platform, clock: SimClock, carriers: Carriers, seed: int
    ) -> None:
        self.env, self.platform, self.clock, self.settings = env, platform, clock, carriers
        self.carrier = SimulatedCarrier(
            seed,
            hold_probability=carriers.hold_probability,
            late_scan_probability=carriers.late_scan_probability,
            crosses_border=customs_rules().crosses_border,  # a Polish parcel to Germany clears no customs
        )
        self.active: dict[UUID, Booking] = {}
        self.booked = self.delivered = self.holds = 0
        self._last: datetime | None = None

    def book(self, parcel_ids: list[str]) -> None:
        """Book the parcels in the order given (the carrier draws each journey from one seeded generator)."""
        with self.platform.uow() as uow:
            ids = [UUID(pid) for pid in parcel_ids]
            parcels = rows_by_key(uow.session, ParcelRow, ParcelRow.id, ids)
            origins = rows_by_key(uow.session, FactoryRow, FactoryRow.id, (p.factory_id for p in parcels.values()))
            orders = rows_by_key(uow.session, OrderRow, OrderRow.id, (p.order_id for p in parcels.values()))
            lanes = {lane.id: lane for lane in uow.lanes.list()}
            for pid in ids:
                row = parcels.get(pid)
                if row is None:
                    continue
                origin, order, lane = origins[row.factory_id], orders[row.order_id], lanes[row.lane_id]
                ref = ParcelRef(row.key, origin.country, order.ship_to["country"])
                self.active[row.id] = self.carrier.book(ref, lane, row.ship_at)  # type: ignore[arg-type]
                self.booked += 1

    def poll(self) -> Generator[simpy.Event, Any, None]:
        """Every few hours, fetch the scans each carrier reported since the last poll and record them together."""
        while True:
            yield self.env.timeout(self.settings.poll_hours * 60)
            now = self.clock.now()
            fetched: dict[UUID, list[TrackingEvent]] = {}
            for parcel_id, booking in sorted(self.active.items(), key=lambda kv: kv[1].parcel_key):
                scans = self.carrier.events(booking, self._last, now)
                delivered = next((i for i, e in enumerate(scans) if e.milestone.value == "delivered"), None)
                if delivered is not None:
                    scans = scans[: delivered + 1]  # the parcel leaves the poll: later scans are not fetched
                if scans:
                    fetched[parcel_id] = scans
            views = record_scans(self.platform, OPERATOR, fetched) if fetched else {}
            for parcel_id, scans in fetched.items():
                self.holds += sum(e.milestone.value == "customs_hold" for e in scans)
                if views[parcel_id]["status"] == "delivered":
                    self.active.pop(parcel_id, None)
                    self.delivered += 1
            self._last = now
