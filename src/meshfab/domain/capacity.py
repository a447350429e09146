"""Capacity buckets: factory × capability × local day, in machine minutes.

Reservations are what the promise engine holds for accepted orders; `free` is what a new quote may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from meshfab.domain.errors import Conflict


@dataclass
class Bucket:
    factory_id: str
    capability: str
    day: date
    available: int
    reserved: int = 0

    @property
    def free(self) -> int:
        return max(0, self.available - self.reserved)

    def reserve(self, minutes: int) -> None:
        if minutes < 0:
            raise ValueError("reserve a non-negative number of minutes")
        if minutes > self.free:
            raise Conflict(f"{self.factory_id}/{self.capability}/{self.day}: {minutes} min asked, {self.free} free")
        self.reserved += minutes

    def release(self, minutes: int) -> None:
        self.reserved = max(0, self.reserved - minutes)
