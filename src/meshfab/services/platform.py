"""The running platform as services see it: the database, the clock and the settings, wired once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from meshfab.clock import Clock, SystemClock
from meshfab.services.capacity_view import CapacityView
from meshfab.settings import Settings
from meshfab.store.uow import UnitOfWork


@dataclass
class Platform:
    engine: Engine
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    capacity: CapacityView = field(init=False)
    on_change: Callable[[str], None] = field(default=lambda reason: None)
    """Told when the mesh changes in a way planning must react to (a factory going dark, a day closed)."""
    on_new_work: Callable[[str, bool], None] = field(default=lambda factory_id, at_once: None)
    """Told, after the commit, of a factory whose open work changed outside a schedule: an order placed there, a
    scrap's replacement lot (`at_once`: the floor is short of a lot and waits for it), a factory back at work.
    The scheduling cycle (`services.scheduler`, the twin's) takes it; unwired, the factory waits for whoever
    schedules it (`schedule_factory`, a re-plan that moves lines there)."""

    def __post_init__(self) -> None:
        self._sessions: sessionmaker[Session] = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.capacity = CapacityView(ttl=self.settings.capacity_ttl_seconds, days=self.settings.horizon_days)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)
