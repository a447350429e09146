"""Unit of work: one transaction per use case, rolled back unless the service commits it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from meshfab.domain.events import Event
from meshfab.store.repositories import (
    FactoryRepository,
    LaneRepository,
    MerchantRepository,
    OrderRepository,
    TemplateRepository,
    WorkOrderRepository,
)
from meshfab.store.tables import OutboxRow


class UnitOfWork:
    session: Session

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def __enter__(self) -> UnitOfWork:
        return self.open()

    def open(self) -> UnitOfWork:
        """Begin the unit of work; for callers that keep several open at once and cannot nest `with`s."""
        self.session = self._sessions()
        self.templates = TemplateRepository(self.session)
        self.factories = FactoryRepository(self.session)
        self.lanes = LaneRepository(self.session)
        self.merchants = MerchantRepository(self.session)
        self.orders = OrderRepository(self.session)
        self.work_orders = WorkOrderRepository(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def emit(self, event: Event) -> None:
        """Write the event beside the change: both commit or neither does."""
        self.session.add(
            OutboxRow(type=event.type, subject=event.subject, payload=event.payload, occurred_at=event.occurred_at)
        )
