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

from sqlalchemy import bindparam, delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from meshfab.domain.capacity import Bucket
from meshfab.domain.factories import Factory
from meshfab.store.tables import BucketRow, ReservationRow

BucketKey = tuple[str, str, date]
CHUNK = 2000


def lock_buckets(session: Session, factories: dict[str, Factory], keys: Iterable[BucketKey]) -> dict[BucketKey, Bucket]:
    """Lock the buckets in order, creating the missing ones first (available minutes from the factory calendar).

    Most buckets exist already (every order after a day's first one finds its buckets), so they are locked
    straight away; only when one is missing are the missing ones inserted and everything locked again in order
    (a row this transaction holds already is locked again at no cost). The caller changes the returned buckets
    and hands the changed ones to `write_reserved`: plain rows, not ORM objects, because placing an order locks
    a handful of buckets thousands of times a day and the ORM's bookkeeping would cost more than the SQL."""
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


_BUCKETS = BucketRow.__table__
_BUCKET_COLUMNS = (_BUCKETS.c.factory_id, _BUCKETS.c.capability, _BUCKETS.c.day)


def _lock(session: Session, wanted: list[BucketKey]) -> dict[BucketKey, Bucket]:
    """Lock the stored buckets among `wanted` (sorted), in chunks in sorted order: the one global lock order."""
    locked: dict[BucketKey, Bucket] = {}
    for start in range(0, len(wanted), CHUNK):
        for f, c, d, available, reserved in session.execute(_LOCK, {"keys": wanted[start : start + CHUNK]}):
            locked[(f, c, d)] = Bucket(f, c, d, available, reserved)
    return locked


_LOCK = (
    select(*_BUCKET_COLUMNS, _BUCKETS.c.available, _BUCKETS.c.reserved)
    .where(tuple_(*_BUCKET_COLUMNS).in_(bindparam("keys", expanding=True)))
    .order_by(*_BUCKET_COLUMNS)
    .with_for_update()
)
"""Built once: placing an order runs it every time, and building it cost about as much as running it."""


def write_reserved(session: Session, buckets: Iterable[Bucket]) -> None:
    """Store the reserved minutes of buckets this transaction locked, in one statement."""
    rows = [
        {"f": b.factory_id, "c": b.capability, "d": b.day, "reserved": b.reserved}
        for b in {(b.factory_id, b.capability, b.day): b for b in buckets}.values()
    ]
    if rows:
        session.connection().execute(_WRITE_RESERVED, rows)


_WRITE_RESERVED = (
    update(_BUCKETS)
    .where(_BUCKETS.c.factory_id == bindparam("f"), _BUCKETS.c.capability == bindparam("c"))
    .where(_BUCKETS.c.day == bindparam("d"))
    .values(reserved=bindparam("reserved"))
)


def families_in(session: Session, keys: Iterable[BucketKey]) -> list[tuple[str, str, date, str]]:
    wanted = sorted(set(keys))
    if not wanted:
        return []
    rows = session.execute(_FAMILIES, {"keys": wanted})
    return [(r.factory_id, r.capability, r.day, r.setup_family) for r in rows]


_RESERVATION_BUCKET = (ReservationRow.factory_id, ReservationRow.capability, ReservationRow.day)
_FAMILIES = (
    select(*_RESERVATION_BUCKET, ReservationRow.setup_family)
    .where(tuple_(*_RESERVATION_BUCKET).in_(bindparam("keys", expanding=True)))
    .distinct()
)


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
    buckets = lock_buckets(session, factories, [(r.factory_id, r.capability, r.day) for r in held])
    for r in held:
        bucket = buckets[(r.factory_id, r.capability, r.day)]
        bucket.reserved = max(0, bucket.reserved - r.minutes)
    write_reserved(session, buckets.values())
    session.execute(delete(ReservationRow).where(ReservationRow.line_id.in_(line_ids)))
    return held
