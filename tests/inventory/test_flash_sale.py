"""The flash-sale admission gate: tokens loaded from available stock, taken before the database is asked,
given back on release, never admitting more than the stock, and rebuilt from inventory when Redis loses them."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
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
    redis.delete(*redis.scan_iter(f"{gate.TAG}*"))  # what a Redis restart without persistence leaves
    assert services.gate_admit(lines={"HOT": 3}) == {"HOT": 3}
    with pytest.raises(InsufficientStock):
        services.gate_admit(lines={"HOT": 1})


def test_a_lost_counter_is_rebuilt_not_taken_for_sold_out():
    services.stock_levels_ensure(initial_on_hand={"HOT": 4, "sales": 2})  # a SKU named like the gate's own keys
    services.flash_sale_start(sku="HOT")
    services.flash_sale_start(sku="sales")
    get_redis_connection("default").delete(gate._key("HOT"))  # evicted, say, while the sale list survived
    assert services.gate_admit(lines={"HOT": 4, "sales": 2}) == {"HOT": 4, "sales": 2}
    assert (gate.tokens("HOT"), gate.tokens("sales")) == (0, 0)


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


def test_a_sold_out_checkout_is_answered_by_the_gate_without_a_database_query(client, settings, on_commit):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(1, stock=1)
    services.flash_sale_start(sku=sku)
    first = checkout(client, body(token), key="first")
    assert first.status_code == 201
    token2 = cart_services.cart_create().token
    services.stock_receive(sku=sku, quantity=1, reason="one more")
    cart_services.cart_add(token=token2, sku=sku, quantity=1)
    services.stock_receive(sku=sku, quantity=-1, reason="gone again")  # the gate now holds no token
    with CaptureQueriesContext(connection) as queries:
        response = checkout(client, body(token2), key="late")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_stock"
    assert [q["sql"] for q in queries.captured_queries] == []
    # A retry of the checkout that went through still gets its own first answer, though the SKU has sold out.
    again = checkout(client, body(token), key="first")
    assert again.status_code == 201 and again.json()["number"] == first.json()["number"]
    # The late shopper's refusal was not recorded: once stock is back, the same key may buy.
    with on_commit():
        services.stock_receive(sku=sku, quantity=1, reason="returned")  # its token comes back after the commit
    assert checkout(client, body(token2), key="late").status_code == 201
    assert Order.objects.count() == 2


def test_the_gate_takes_nothing_when_one_line_is_short():
    services.stock_levels_ensure(initial_on_hand={"HOT": 5, "WARM": 1, "COLD": 9})
    services.flash_sale_start(sku="HOT")
    services.flash_sale_start(sku="WARM")
    with pytest.raises(InsufficientStock) as err:
        services.gate_admit(lines={"HOT": 2, "WARM": 2, "COLD": 1})
    assert err.value.extra["sku"] == "WARM"
    assert (gate.tokens("HOT"), gate.tokens("WARM")) == (5, 1)
    assert services.gate_admit(lines={"HOT": 2, "WARM": 1, "COLD": 1}) == {"HOT": 2, "WARM": 1}
    services.flash_sale_stop(sku="WARM")
    assert gate.tokens("WARM") is None
    services.gate_return(taken={"WARM": 1})  # a sale stopped meanwhile: nothing to give back to
    assert gate.tokens("WARM") is None
    assert gate.tokens("HOT") == 5  # a start or stop reloads every gate from available stock


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


def test_a_sale_switched_off_mid_flight_still_sells_only_the_stock(client, settings):
    settings.RATE_LIMITS = {}
    token_a, sku = cart_with(1, stock=1)
    token_b = cart_services.cart_create().token
    cart_services.cart_add(token=token_b, sku=sku, quantity=1)
    services.flash_sale_start(sku=sku)
    in_flight = services.gate_admit(lines={sku: 1})  # shopper A holds the only token...
    services.flash_sale_stop(sku=sku)  # ...when staff switch the sale off
    assert checkout(client, body(token_b)).status_code == 201  # no gate now: the stock row decides
    late = checkout(client, body(token_a))
    assert late.status_code == 409 and late.json()["code"] == "insufficient_stock"
    services.gate_return(taken=in_flight)  # A's token comes back to a gate that no longer exists
    assert gate.tokens(sku) is None
    assert Order.objects.filter(status="paid").count() == 1
    assert services.stock_levels(sku=sku).available == 0
