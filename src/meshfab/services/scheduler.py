"""`meshfab serve`'s scheduling cycle: factories told of new work get a schedule (and their work orders) on the
next pass, every few minutes, or at once when the floor waits for a lot (a scrap's replacement).

A schedule per order would spend seconds of CP-SAT on each checkout; a cycle batches a factory's new orders
into one solve, as the twin's cycle does on the simulated clock (`schedule_cycle` is the pass both run).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select

from meshfab.services.background import PeriodicJob
from meshfab.services.platform import Platform
from meshfab.services.scheduling import schedule_cycle
from meshfab.store.tables import FactoryRow

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, platform: Platform, *, every_minutes: float) -> None:
        self.platform = platform
        self._told: set[str] = set()
        self._lock = threading.Lock()
        self._job = PeriodicJob("scheduling", every_minutes * 60, self.run_once)

    def start(self) -> None:
        """Every factory is due on the first pass: what it was told before this process started is not known."""
        with self.platform.uow() as uow:
            self._told.update(uow.session.scalars(select(FactoryRow.id)))
        self.platform.on_new_work = self.tell
        self._job.start()
        self._job.wake()

    def stop(self) -> None:
        self._job.stop()

    def tell(self, factory_id: str, at_once: bool) -> None:
        with self._lock:
            self._told.add(factory_id)
        if at_once:
            self._job.wake()

    def run_once(self) -> list[str]:
        """One pass; a factory whose schedule failed stays due for the next. Returns the factories scheduled."""
        with self._lock:
            told, self._told = self._told, set()
        try:
            due, failed = schedule_cycle(self.platform, told)
        except Exception:
            with self._lock:
                self._told |= told  # nothing was scheduled: all of them are still due
            raise
        for factory_id, exc in failed.items():
            log.error("scheduling %s failed; it stays due", factory_id, exc_info=exc)
        with self._lock:
            self._told |= failed.keys()
        return [f for f in due if f not in failed]
