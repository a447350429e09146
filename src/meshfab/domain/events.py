"""Events leave through the outbox, written in the same transaction as the change they describe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Event:
    type: str
    subject: str
    payload: dict[str, Any]
    occurred_at: datetime
