"""A periodic job on a daemon thread: the outbox relay and lane learning in `meshfab serve`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    def __init__(self, name: str, every_seconds: float, job: Callable[[], object]) -> None:
        self.name, self.every, self.job = name, every_seconds, job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.job()
            except Exception:  # a failed pass must not end the loop; the next pass retries
                log.exception("%s failed", self.name)
