"""Runs the network re-plan in the background: every few minutes, and at once when the mesh changes.

A factory going dark should not wait for the next tick, and a burst of changes should not queue a burst of
re-plans: pokes wake one `PeriodicJob`, whose next pass re-plans once for all pokes that arrived meanwhile.
"""

from __future__ import annotations

import logging
import threading

from meshfab.services.background import PeriodicJob
from meshfab.services.network import replan_network
from meshfab.services.platform import Platform

log = logging.getLogger(__name__)


class Replanner:
    def __init__(self, platform: Platform, *, every_minutes: float) -> None:
        self.platform = platform
        self._reasons: list[str] = []
        self._lock = threading.Lock()
        self._job = PeriodicJob("replanner", every_minutes * 60, self._run)

    def start(self) -> None:
        self.platform.on_change = self.poke
        self._job.start()

    def stop(self) -> None:
        self._job.stop()

    def poke(self, reason: str) -> None:
        with self._lock:
            self._reasons.append(reason)
        self._job.wake()

    def _run(self) -> None:
        with self._lock:
            reasons, self._reasons = self._reasons, []
        trigger = ",".join(sorted(set(reasons)))[:64] or "schedule"
        try:
            replan_network(self.platform, trigger=trigger)
        except Exception:  # logged with its trigger here; the next tick tries again
            log.exception("network re-plan failed (trigger %s)", trigger)
