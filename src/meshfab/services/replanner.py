"""Runs the network re-plan in the background: every few minutes, and at once when the mesh changes.

A factory going dark should not wait for the next tick, and a burst of changes should not queue a burst of
re-plans: pokes set one flag, and the worker runs one re-plan for all pokes that arrived meanwhile.
"""

from __future__ import annotations

import logging
import threading

from meshfab.services.network import replan_network
from meshfab.services.platform import Platform

log = logging.getLogger(__name__)


class Replanner:
    def __init__(self, platform: Platform, *, every_minutes: float) -> None:
        self.platform = platform
        self.every = every_minutes * 60
        self._poked = threading.Event()
        self._stop = threading.Event()
        self._reasons: list[str] = []
        self._thread = threading.Thread(target=self._loop, name="replanner", daemon=True)

    def start(self) -> None:
        self.platform.on_change = self.poke
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._poked.set()
        self._thread.join(timeout=30)

    def poke(self, reason: str) -> None:
        self._reasons.append(reason)
        self._poked.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._poked.wait(timeout=self.every)
            if self._stop.is_set():
                return
            self._poked.clear()
            reasons, self._reasons = self._reasons, []
            trigger = ",".join(sorted(set(reasons)))[:64] or "schedule"
            try:
                replan_network(self.platform, trigger=trigger)
            except Exception:  # the loop must survive a failed run; the next tick tries again
                log.exception("network re-plan failed (trigger %s)", trigger)
