"""Capacity buckets in PostgreSQL: created from the calendar on first use, locked in one fixed order.

Every writer locks the rows it needs sorted by (factory_id, capability, day), and inserts missing rows in
the same order, so two transactions locking stored buckets never wait on each other in a cycle (only the rare
first touch of a bucket, racing other first touches, could meet a deadlock, which PostgreSQL breaks by failing
one transaction: nothing is half written). Under the lock `reserved + minutes <= available` is the rule that
keeps capacity from being oversold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from sqlalchemy import delete, event, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, SessionTransaction

from meshfab.domain.capacity import Bucket
from meshfab.domain.factories import Factory
from meshfab.store.tables import BucketRow, ReservationRow

BucketKey = tuple[str, str, date]
CHUNK = 2000
_LOCKED = "meshfab.locked_buckets"
"""`Session.info` key of the rows this transaction locked: the session's identity map holds rows only weakly,
so without this strong reference every later `session.get` of a locked bucket would be another SELECT."""


def lock_buckets(session: Session, factories: dict[str, Factory], keys: Iterable[BucketKey]) -> dict[BucketKey, Bucket]:
    """Lock the buckets in order, creating the missing ones first (available minutes from the factory calendar).

    Most buckets exist already (every order after a day's first one finds its buckets), so they are locked
    straight away; only when one is missing are the missing ones inserted and everything locked again in order
    (a row this transaction holds already is locked again at no cost)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    locked = _lock(session, wanted)
    missing = [key for key in wanted if key not in locked]
    if not missing:
        return locked
    rows = [
        {"factory_id": f, "capability": c, "day": d, "available": factories[f].capacity_minutes(c, d), "reserved": 0}
        for f, c, d in missing
    ]
    for start in range(0, len(rows), CHUNK):  # a statement carries at most 65,535 parameters
        session.execute(insert(BucketRow).values(rows[start : start + CHUNK]).on_conflict_do_nothing())
    return _lock(session, wanted)


def _lock(session: Session, wanted: list[BucketKey]) -> dict[BucketKey, Bucket]:
    """Lock the stored buckets among `wanted` (sorted), in chunks in sorted order: the one global lock order."""
    locked: dict[BucketKey, Bucket] = {}
    rows_held: dict[BucketKey, BucketRow] = session.info.setdefault(_LOCKED, {})
    for start in range(0, len(wanted), CHUNK):
        for r in session.scalars(
            select(BucketRow)
            .where(tuple_(BucketRow.factory_id, BucketRow.capability, BucketRow.day).in_(wanted[start : start + CHUNK]))
            .order_by(BucketRow.factory_id, BucketRow.capability, BucketRow.day)
            .with_for_update()
        ):
            key = (r.factory_id, r.capability, r.day)
            rows_held[key] = r
            locked[key] = Bucket(r.factory_id, r.capability, r.day, r.available, r.reserved)
    return locked


@event.listens_for(Session, "after_transaction_end")
def _forget_locked(session: Session, transaction: SessionTransaction) -> None:
    """Locks end with the transaction, and so does the claim to hold the rows."""
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)


def locked_row(session: Session, key: BucketKey) -> BucketRow | None:
    """The row of a bucket this transaction locked with `lock_buckets` (None if it was not locked)."""
    held: dict[BucketKey, BucketRow] = session.info.get(_LOCKED, {})
    return held.get(key)


def add_reserved(session: Session, key: BucketKey, minutes: int) -> None:
    row = locked_row(session, key)
    assert row is not None, "lock_buckets first"
    row.reserved += minutes


def families_in(session: Session, keys: Iterable[BucketKey]) -> list[tuple[str, str, date, str]]:
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = session.execute(
        select(ReservationRow.factory_id, ReservationRow.capability, ReservationRow.day, ReservationRow.setup_family)
        .where(tuple_(ReservationRow.factory_id, ReservationRow.capability, ReservationRow.day).in_(wanted))
        .distinct()
    )
    return [(r.factory_id, r.capability, r.day, r.setup_family) for r in rows]


def load_buckets(session: Session, first_day: date) -> tuple[list[Bucket], list[tuple[str, str, date, str]]]:
    """Every stored bucket from `first_day` on, and the setup families that already have a lot in it."""
    buckets = [
        Bucket(r.factory_id, r.capability, r.day, r.available, r.reserved)
        for r in session.scalars(select(BucketRow).where(BucketRow.day >= first_day))
    ]
    families = [
        (r.factory_id, r.capability, r.day, r.setup_family)
        for r in session.execute(
            select(
                ReservationRow.factory_id, ReservationRow.capability, ReservationRow.day, ReservationRow.setup_family
            )
            .where(ReservationRow.day >= first_day)
            .distinct()
        )
    ]
    return buckets, families


def release_line(session: Session, factories: dict[str, Factory], line_ids: list[UUID]) -> list[ReservationRow]:
    """Give a line's minutes back to its buckets (locked in the same order as every other writer)."""
    held = list(session.scalars(select(ReservationRow).where(ReservationRow.line_id.in_(line_ids))))
    lock_buckets(session, factories, [(r.factory_id, r.capability, r.day) for r in held])
    for r in held:
        row = locked_row(session, (r.factory_id, r.capability, r.day))
        assert row is not None
        row.reserved = max(0, row.reserved - r.minutes)
    session.execute(delete(ReservationRow).where(ReservationRow.line_id.in_(line_ids)))
    return held
