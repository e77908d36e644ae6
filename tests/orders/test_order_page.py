"""The shopper's order page (its owner, or a guest with the secret link) says what happened to the order in words
(issue 23): how much was refunded and when, each refund by its amount and day; a shipped order still says it was
shipped, and by which method, once it is refunded; and reading the refunds costs the page no statement more."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.models import OrderEvent, OrderRefund
from shipping import services as shipping_services
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


@pytest.fixture
def paid():
    """A paid order of 3 x $10.00 sent by the shop's 'Standard' method ($4.95): (number, its secret link's token)."""
    shipping_services.shipping_seed_defaults()
    token, _ = cart_with(3, price="10.00")
    answer = checkout(Client(), body(token, shipping_method="standard"))
    assert answer.status_code == 201, answer.content
    return answer.json()["number"], answer.json()["access_token"]


def status(number: str, token: str) -> str:
    """The order page's status paragraph, its words on one line (its days' <time> tags left out)."""
    response = Client().get(f"/orders/{number}/?token={token}")
    assert response.status_code == 200
    paragraph = re.search(r'<p class="order-status[^"]*">(.*?)</p>', response.content.decode(), re.S).group(1)
    return " ".join(re.sub(r"</?time[^>]*>", "", paragraph).split())


def day(key: str) -> str:
    """The day a refund was recorded, as the page writes it: '2 December 2026'."""
    at = OrderRefund.objects.get(key=key).at
    return f"{at.day} {at:%B %Y}"


def shipped_on(number: str) -> str:
    at = OrderEvent.objects.get(order__number=number, status="fulfilled").at
    return f"{at.day} {at:%B %Y}"


def test_a_partly_refunded_order_says_how_much_was_refunded_and_when(paid):
    number, token = paid
    services.order_refund(number=number, amount=Decimal("10.00"), key="part")
    text = status(number, token)
    assert f"$10.00 of your payment was refunded on {day('part')}." in text, text
    assert "partly refunded." not in text


def test_each_refund_is_named_with_its_amount_and_day(paid):
    number, token = paid
    services.order_refund(number=number, amount=Decimal("10.00"), key="first")
    services.order_refund(number=number, amount=Decimal("5.50"), key="second")
    text = status(number, token)
    assert f"$15.50 of your payment was refunded: $10.00 on {day('first')} and $5.50 on {day('second')}." in text


def test_a_fully_refunded_order_says_it_was_refunded_in_full_how_much_and_when(paid):
    number, token = paid
    services.order_refund(number=number, amount=Decimal("10.00"), key="part")
    services.order_refund(number=number, key="rest")  # the rest of $34.95
    text = status(number, token)
    assert (f"This order was refunded in full, $34.95: $10.00 on {day('part')} and $24.95 on {day('rest')}."
            in text), text


def test_a_shipped_order_refunded_says_it_was_shipped_by_its_method_and_the_refund(paid):
    number, token = paid
    services.order_fulfil(number=number)
    assert f"Your order is on its way: we sent it by Standard on {shipped_on(number)}." in status(number, token)
    services.order_refund(number=number, amount=Decimal("10.00"), key="part")
    services.order_refund(number=number, amount=Decimal("5.00"), key="again")  # refunded again once shipped
    text = status(number, token)
    assert f"We sent your order by Standard on {shipped_on(number)}." in text, text
    assert f"$15.00 of your payment was refunded: $10.00 on {day('part')} and $5.00 on {day('again')}." in text


def test_a_partly_refunded_order_that_ships_afterwards_says_both(paid):
    number, token = paid
    services.order_refund(number=number, amount=Decimal("10.00"), key="part")
    services.order_fulfil(number=number)
    text = status(number, token)
    assert f"Your order is on its way: we sent it by Standard on {shipped_on(number)}." in text, text
    assert f"$10.00 of your payment was refunded on {day('part')}." in text


def test_a_refund_the_order_knows_only_from_the_payment_provider_says_when(paid):
    """Stripe's charge.refunded webhook for a refund made on Stripe's dashboard marks the order (no amount of its
    own): the page says when, and does not make an amount up."""
    number, token = paid
    services.order_mark_refunded(number=number, full=False, note="refunded on Stripe")
    at = OrderEvent.objects.get(order__number=number, status="partially_refunded").at
    text = status(number, token)
    assert f"Part of your payment was refunded on {at.day} {at:%B %Y}." in text, text
    assert "$" not in text


def test_reading_the_refunds_costs_the_order_page_no_statement_more(paid):
    """The refunds are read in the order's own statement (orders.services.order_get): the page of an order refunded
    twice runs as many statements as the page of the same order before any refund."""
    number, token = paid
    client = Client()

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/orders/{number}/?token={token}").status_code == 200
        return len(queries.captured_queries)

    statements()  # (the first request of a process warms what every later one finds ready)
    before = statements()
    services.order_refund(number=number, amount=Decimal("10.00"), key="first")
    services.order_refund(number=number, amount=Decimal("5.00"), key="second")
    assert statements() == before


def test_a_full_refund_finished_on_the_payment_providers_dashboard_says_the_total_and_the_day(paid):
    """$10.00 refunded through the shop, the rest on Stripe's dashboard: the order knows only the shop's amount, so
    the page names what was charged and the day the order was marked refunded, not $10.00 as if it were all."""
    number, token = paid
    services.order_refund(number=number, amount=Decimal("10.00"), key="part")
    services.order_mark_refunded(number=number, full=True, note="refunded on Stripe")
    at = OrderEvent.objects.get(order__number=number, status="refunded").at
    text = status(number, token)
    assert f"This order was refunded in full, $34.95 on {at.day} {at:%B %Y}." in text, text
