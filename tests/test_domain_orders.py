from datetime import UTC, datetime
from uuid import uuid4

import pytest

from meshfab.domain.errors import IllegalTransition
from meshfab.domain.geo import Address
from meshfab.domain.merchants import Buyer, Channel
from meshfab.domain.orders import Order, OrderLine, OrderStatus, can_transition, steps_to

AT = datetime(2026, 11, 23, tzinfo=UTC)


def make_order() -> Order:
    return Order(
        id=uuid4(),
        merchant_id="teamkit",
        channel=Channel.web,
        buyer=Buyer(name="Ada", email="ada@example.com"),
        ship_to=Address(name="Ada", line1="1 High St", city="Leeds", postal_code="LS1", country="GB"),
        currency="USD",
        lines=[OrderLine(uuid4(), 1, "team-shirt", {}, 3, 1250), OrderLine(uuid4(), 2, "flag", {}, 1, 900)],
        created_at=AT,
    )


def test_order_walks_the_happy_path_to_delivered() -> None:
    order = make_order()
    for status in ["allocated", "in_production", "produced", "shipped", "delivered"]:
        order.advance_to(OrderStatus(status), AT)
    assert order.status is OrderStatus.delivered
    assert [s for s, _ in order.history][-1] is OrderStatus.delivered


def test_order_cannot_skip_a_step() -> None:
    order = make_order()
    with pytest.raises(IllegalTransition, match="placed to shipped"):
        order.advance_to(OrderStatus.shipped, AT)
    assert order.status is OrderStatus.placed


@pytest.mark.parametrize("reached", ["placed", "allocated", "in_production", "produced"])
def test_order_can_be_cancelled_before_it_ships(reached: str) -> None:
    assert can_transition(OrderStatus(reached), OrderStatus.cancelled)


@pytest.mark.parametrize("reached", ["shipped", "delivered", "cancelled"])
def test_shipped_delivered_or_cancelled_orders_cannot_be_cancelled(reached: str) -> None:
    assert not can_transition(OrderStatus(reached), OrderStatus.cancelled)


def test_cancelled_is_final() -> None:
    order = make_order()
    order.cancel(AT)
    with pytest.raises(IllegalTransition):
        order.advance_to(OrderStatus.allocated, AT)


def test_total_is_the_sum_of_lines_in_minor_units() -> None:
    assert make_order().total == 3 * 1250 + 900


def test_steps_to_walks_forward_through_every_status_and_never_back() -> None:
    s = OrderStatus
    assert steps_to(s.in_production, s.delivered) == [s.produced, s.shipped, s.delivered]
    assert steps_to(s.allocated, s.in_production) == [s.in_production]
    assert steps_to(s.shipped, s.shipped) == []
    assert steps_to(s.delivered, s.shipped) == [], "a delivered order does not go back to shipped"
    assert steps_to(s.cancelled, s.produced) == [], "nor does a cancelled one move at all"
    assert steps_to(s.placed, s.cancelled) == [], "cancelling is not a step forward"
