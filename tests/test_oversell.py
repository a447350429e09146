"""Never oversell: 64 concurrent clients race for the last minutes of a bucket on real PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import timedelta

from sqlalchemy import func, select, update

from meshfab.domain.errors import Conflict
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer
from meshfab.domain.principals import Principal
from meshfab.engines.configurator import configure
from meshfab.services import orders, promise
from meshfab.services.platform import Platform
from meshfab.store.capacity import lock_buckets
from meshfab.store.tables import BucketRow, FactoryRow, OrderLineRow, ReservationRow
from tests.helpers import first_value

CLIENTS = 64
ADDRESS = Address(name="Ada", line1="1 High St", city="Leeds", postal_code="LS1", country="GB")


def first_complete(platform: Platform, key: str) -> dict[str, object]:
    with platform.uow() as uow:
        template = uow.templates.get(key)
    assert template is not None
    options: dict[str, object] = {}
    while not (result := configure(template, options)).valid:
        name, domain = next((k, d) for k, d in result.domains.items() if k not in options and not d.may_be_absent)
        options[name] = first_value(asdict(domain))
    return options


def leave_one_bottleneck(platform: Platform, template: str, options: dict[str, object]) -> list[tuple]:
    """Pause every other factory and fill this one's buckets, except those of one plan: room for a few lines."""
    merchant = Principal.parse("merchant:teamkit")
    offer = promise.quote(platform, str(merchant), template, options, 4, "GB")[0].offer
    with platform.uow() as uow:
        uow.session.execute(update(FactoryRow).where(FactoryRow.id != offer.factory_id).values(status="paused"))
        factory = uow.factories.get(offer.factory_id)
        assert factory is not None
        start = factory.local_day(platform.clock.now())
        keys = [
            (factory.id, w.capability, start + timedelta(days=d))
            for w in factory.workcenters
            for d in range(platform.settings.horizon_days + 3)
        ]
        lock_buckets(uow.session, {factory.id: factory}, keys)
        uow.session.execute(update(BucketRow).values(reserved=BucketRow.available))
        plan = [(r.factory_id, r.capability, r.day) for r in offer.reservations]
        for r in offer.reservations:
            bucket = uow.session.get(BucketRow, (r.factory_id, r.capability, r.day))
            assert bucket is not None
            bucket.available, bucket.reserved = r.minutes * 3 + r.minutes // 2, 0
        uow.commit()
    platform.capacity.invalidate()
    return plan


def test_racing_clients_never_oversell_and_every_acceptance_holds_its_minutes(demo: Platform) -> None:
    options = first_complete(demo, "flag")
    plan = leave_one_bottleneck(demo, "flag", options)
    barrier = threading.Barrier(CLIENTS)
    merchant = Principal.parse("merchant:teamkit")
    command = orders.PlaceOrder(
        buyer=Buyer(name="Ada", email="ada@example.com"),
        ship_to=ADDRESS,
        lines=[orders.LineRequest("flag", options, 4)],
    )

    def client(_: int) -> str:
        barrier.wait()
        try:
            orders.place_order(demo, merchant, command)
        except Conflict:
            return "409"
        return "201"

    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = Counter(pool.map(client, range(CLIENTS)))

    assert set(outcomes) <= {"201", "409"} and 3 <= outcomes["201"] < CLIENTS, outcomes
    with demo.uow() as uow:
        for key in plan:
            bucket = uow.session.get(BucketRow, key)
            assert bucket is not None and 0 < bucket.reserved <= bucket.available, key
            held = uow.session.scalar(
                select(func.sum(ReservationRow.minutes)).where(
                    ReservationRow.factory_id == key[0],
                    ReservationRow.capability == key[1],
                    ReservationRow.day == key[2],
                )
            )
            assert held == bucket.reserved, key
        elsewhere = uow.session.scalar(
            select(func.count()).select_from(ReservationRow).where(ReservationRow.factory_id != plan[0][0])
        )
        assert elsewhere == 0, "the rest of the mesh was full"
        lines = uow.session.scalars(select(OrderLineRow.id)).all()
        assert len(lines) == outcomes["201"]
        for line_id in lines:
            assert uow.session.scalar(select(func.count()).where(ReservationRow.line_id == line_id)) > 0
