"""A `Clock` whose time is the SimPy environment's: services read simulated time, never the wall clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import simpy


class SimClock:
    """Simulated minutes since `start`; `now()` is what every service sees as the present."""

    def __init__(self, env: simpy.Environment, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a clock tells aware UTC time")
        self.env, self.start = env, start

    def now(self) -> datetime:
        return self.start + timedelta(minutes=self.env.now)

    def minutes(self, instant: datetime) -> float:
        """The SimPy time of an instant (may be in the past: callers clamp with `max(0, ...)`)."""
        return (instant - self.start).total_seconds() / 60

    def until(self, instant: datetime) -> float:
        """Minutes from now to `instant`, never negative: the delay to hand to `env.timeout`."""
        return max(0.0, self.minutes(instant) - self.env.now)
