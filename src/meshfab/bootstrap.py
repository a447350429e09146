"""Bring a platform up: find or start the database, migrate it, optionally seed the demo world."""

from __future__ import annotations

import os
from pathlib import Path

from meshfab.domain.principals import Principal
from meshfab.services.keys import authenticate, create_key
from meshfab.services.platform import Platform
from meshfab.settings import Settings
from meshfab.store import migrate
from meshfab.store.database import embedded_server_url, make_engine

DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "yiwu"


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_server_url(settings.data_dir)


def open_platform(settings: Settings, *, upgrade: bool = True) -> Platform:
    url = database_url(settings)
    if upgrade:
        migrate.upgrade(url)
    return Platform(engine=make_engine(url, pool_size=settings.pool_size), settings=settings)


def operator_key(platform: Platform) -> str:
    """The operator key kept in the data folder (mode 600), made anew only if missing or revoked."""
    path = platform.settings.data_dir / "operator.key"
    if path.exists():
        key = path.read_text().strip()
        if authenticate(platform, key) == Principal.parse("operator"):
            return key
    key = create_key(platform, Principal.parse("operator"), label="local operator")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    os.chmod(path, 0o600)
    return key
