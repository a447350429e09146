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
    Rows,
    TemplateRepository,
    WorkOrderRepository,
    insert_rows,
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
        self._events: list[dict[str, object]] = []
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Roll back whatever was not committed and give the connection back."""
        self.rollback()
        self.session.close()

    def rollback(self) -> None:
        """Undo the transaction so far, events emitted in it included."""
        self._events = []
        self.session.rollback()

    def commit(self) -> None:
        insert_rows(self.session, OutboxRow, self._events)
        self._events = []
        self.session.commit()

    def take_events(self) -> Rows:
        """The outbox rows of the events emitted so far, for a statement that writes them beside its own rows
        (`write_together`): the commit then no longer writes them, and saves the statement."""
        events, self._events = self._events, []
        return OutboxRow, events

    def emit(self, event: Event) -> None:
        """Write the event beside the change: both commit or neither does (the events of a unit of work are
        written at its commit, in the order they were emitted, in one statement)."""
        self._events.append(
            {
                "type": event.type,
                "subject": event.subject,
                "payload": event.payload,
                "occurred_at": event.occurred_at,
                "published_at": None,
            }
        )
