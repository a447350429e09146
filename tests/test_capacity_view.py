"""The quote's in-memory capacity view: rebuilt when its day columns would change, not on a timer of its own."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from meshfab.services.capacity_view import CapacityView
from meshfab.services.platform import Platform

EVENING = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
"""18:00 in Warsaw, 01:00 next day in Yiwu, morning in Mexico City and Los Angeles (the demo world's zones)."""
WARSAW_MIDNIGHT = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
"""the first local midnight after EVENING among the demo world's factories"""


def test_a_snapshot_holds_until_the_first_factory_midnight(demo: Platform) -> None:
    view = CapacityView(ttl=math.inf)  # as in the twin: nothing but this process writes
    with demo.uow() as uow:
        first = view.get(uow.session, EVENING)
        assert first is not None
        assert view.get(uow.session, WARSAW_MIDNIGHT - timedelta(minutes=1)) is first  # hours later, same days
        turned = view.get(uow.session, WARSAW_MIDNIGHT)
        assert turned is not first and turned is not None  # Warsaw's today moved on: laid out again
        assert view.get(uow.session, EVENING) is not turned  # a clock set back is never served a later snapshot
        view.invalidate()
        assert view.get(uow.session, EVENING) is not None


def test_a_snapshot_older_than_its_ttl_is_rebuilt(demo: Platform) -> None:
    view = CapacityView(ttl=0.0)  # a server: other processes write too
    with demo.uow() as uow:
        assert view.get(uow.session, EVENING) is not view.get(uow.session, EVENING)
