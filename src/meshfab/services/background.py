"""A periodic job on a daemon thread: the outbox relay, lane learning and the scheduling cycle in `meshfab serve`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicJob:
    """Runs `job` every `every_seconds`, and sooner when woken: pokes that arrive while it runs make one more run,
    not one each, so a burst of pokes costs one pass."""

    def __init__(self, name: str, every_seconds: float, job: Callable[[], object]) -> None:
        self.name, self.every, self.job = name, every_seconds, job
        self._stop = threading.Event()
        self._woken = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._woken.set()

    def stop(self) -> None:
        self._stop.set()
        self._woken.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while True:
            self._woken.wait(self.every)
            self._woken.clear()
            if self._stop.is_set():
                return
            try:
                self.job()
            except Exception:  # a failed pass must not end the loop; the next pass retries
                log.exception("%s failed", self.name)
