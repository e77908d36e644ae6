"""The flash-sale admission gate: tokens loaded from available stock, taken before the database is asked,
given back on release, never admitting more than the stock, and rebuilt from inventory when Redis loses them."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_redis import get_redis_connection

from cart import services as cart_services
from inventory import gate, services
from inventory.models import Reservation
from inventory.types import InsufficientStock, SaleNotStarted
from orders.models import Order
from tests.concurrency import race
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


def test_start_show_stop(capsys):
    services.stock_levels_ensure(initial_on_hand={"HOT": 7})
    services.stock_reserve(reference="early", lines={"HOT": 2})
    call_command("flash_sale", "start", "HOT")
    assert capsys.readouterr().out.strip().startswith("HOT: on starts_at=")
    assert services.flash_sale_show(sku="HOT")["tokens"] == 5  # available, not on hand
    call_command("flash_sale", "show", "HOT")
    assert "tokens=5 available=5" in capsys.readouterr().out
    call_command("flash_sale", "stop", "HOT")
    assert capsys.readouterr().out.strip() == "HOT: off starts_at=" + \
        services.flash_sale_show(sku="HOT")["starts_at"].strftime("%Y-%m-%dT%H:%M:%SZ") + " available=5"
    with pytest.raises(CommandError):
        call_command("flash_sale", "start", "NO-SUCH-SKU")
    with pytest.raises(CommandError):
        call_command("flash_sale", "start", "HOT", "--at", "tomorrow-ish")


def test_the_gate_refuses_at_once_and_returns_tokens_on_release():
    services.stock_levels_ensure(initial_on_hand={"HOT": 2})
    services.flash_sale_start(sku="HOT")
    taken = services.gate_admit(lines={"HOT": 2})
    assert taken == {"HOT": 2} and gate.tokens("HOT") == 0
    with pytest.raises(InsufficientStock) as err:
        services.gate_admit(lines={"HOT": 1})
    assert err.value.extra["available"] == 0
    services.gate_return(taken=taken)  # the checkout did not go through
    assert gate.tokens("HOT") == 2


def test_a_release_gives_its_tokens_back(on_commit):
    services.stock_levels_ensure(initial_on_hand={"HOT": 3})
    services.flash_sale_start(sku="HOT")
    services.gate_admit(lines={"HOT": 1})
    services.stock_reserve(reference="R1", lines={"HOT": 1})
    with on_commit():
        services.stock_release(reference="R1")
    assert gate.tokens("HOT") == 3


def test_a_sale_that_has_not_started_sells_nothing_yet():
    services.stock_levels_ensure(initial_on_hand={"HOT": 3})
    services.flash_sale_start(sku="HOT", at=timezone.now() + timedelta(hours=1))
    with pytest.raises(SaleNotStarted):
        services.gate_admit(lines={"HOT": 1})


def test_lost_counters_are_rebuilt_from_inventory():
    services.stock_levels_ensure(initial_on_hand={"HOT": 4})
    services.flash_sale_start(sku="HOT")
    services.stock_reserve(reference="R1", lines={"HOT": 1})
    redis = get_redis_connection("default")
    redis.delete(*redis.keys("gate:*"))  # what a Redis restart without persistence leaves
    assert services.gate_admit(lines={"HOT": 3}) == {"HOT": 3}
    with pytest.raises(InsufficientStock):
        services.gate_admit(lines={"HOT": 1})


def test_checkout_through_the_gate(client, settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(1, stock=1)
    services.flash_sale_start(sku=sku)
    assert checkout(client, body(token)).status_code == 201
    token2 = cart_services.cart_create().token
    services.stock_receive(sku=sku, quantity=1, reason="one more")  # the cart may hold it...
    cart_services.cart_add(token=token2, sku=sku, quantity=1)
    services.stock_receive(sku=sku, quantity=-1, reason="...but it is gone again")
    response = checkout(client, body(token2))
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert Order.objects.count() == 1 and Reservation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_gate_never_admits_more_than_the_stock_under_a_race():
    services.stock_levels_ensure(initial_on_hand={"HOT": 10})
    services.flash_sale_start(sku="HOT")
    outcomes = race(40, lambda i: services.gate_admit(lines={"HOT": 1}))
    admitted = [o for o in outcomes if isinstance(o, dict)]
    assert len(admitted) == 10
    assert all(isinstance(o, InsufficientStock) for o in outcomes if not isinstance(o, dict))
    assert gate.tokens("HOT") == 0


def test_deliveries_and_write_offs_during_a_sale_move_the_tokens(on_commit):
    services.stock_levels_ensure(initial_on_hand={"HOT": 3})
    services.flash_sale_start(sku="HOT")
    with on_commit():
        services.stock_receive(sku="HOT", quantity=5, reason="delivery")
    with on_commit():
        services.stock_receive(sku="HOT", quantity=-2, reason="damaged")
    assert gate.tokens("HOT") == 6
