"""ASGI entry for multi-worker servers: each worker opens its own pool to the database."""

from __future__ import annotations

from meshfab.api.app import create_app
from meshfab.bootstrap import open_platform
from meshfab.settings import get_settings

app = create_app(open_platform(get_settings(), upgrade=False), background=True)
