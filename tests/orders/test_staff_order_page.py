"""The staff order page reads well (issue 23, item 1): the address formatted, history in words, no Save buttons,
a refund button only while something is left to refund and the amount refunded shown; the order list finds an
order by part of its number, the customer's name, e-mail, city, SKU or product name; a partly refunded order that
has not shipped can still be marked shipped."""

from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, OrderLine
from orders.types import TransitionRefused
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(3, stock=5, price="10.00")
    return checkout(client, body(token)).json()["number"], sku


def page(manager_client, number: str) -> str:
    order = Order.objects.get(number=number)
    response = manager_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_order_page_shows_the_address_and_history_in_words_and_no_save_buttons(paid, manager_client):
    number, _ = paid
    html = page(manager_client, number)
    assert "<div>Ada Lovelace</div><div>1 Analytical Way</div><div>London N1 7AA</div><div>GB</div>" in html
    assert "{&#x27;name&#x27;" not in html and "&quot;line1&quot;" not in html  # not the raw JSON
    assert f"{number} -&gt; " not in html and "Pending payment" in html and "Paid" in html
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert "<label>:</label>" not in html  # every shown field has a label
    assert "Refund (full or partial)" in html and "30.00" in html and "left to refund" in html


def test_the_refund_button_goes_once_nothing_is_left_and_the_refunded_amount_is_shown(paid, manager_client):
    number, _ = paid
    services.order_refund(number=number, amount=Decimal("12.50"), key="part")
    html = page(manager_client, number)
    assert "12.50" in html and "Refund (full or partial)" in html and "17.50" in html
    services.order_refund(number=number, key="rest")
    html = page(manager_client, number)
    assert "Refund (full or partial)" not in html and "30.00" in html


def test_a_pending_order_offers_no_refund(client, manager_client, settings):
    settings.RATE_LIMITS = {}
    token, _ = cart_with(1)
    number = checkout(client, body(token, card="4000000000000002")).json().get("number")
    order = Order.objects.filter(number=number).first() or Order.objects.first()
    assert "Refund (full or partial)" not in page(manager_client, order.number)


@pytest.mark.parametrize("query", ["part-of-number", "Lovelace", "shopper@example", "london", "sku", "product"])
def test_the_order_list_finds_an_order_by_what_staff_know(paid, manager_client, query):
    number, sku = paid
    line = OrderLine.objects.get(order__number=number)
    term = {"part-of-number": number[2:7], "sku": sku[1:-1], "product": line.name.split()[0]}.get(query, query)
    html = manager_client.get("/admin/orders/order/", {"q": term}).content.decode()
    assert f">{number}</a>" in html, term


def test_a_partly_refunded_order_can_still_be_marked_shipped_once(paid):
    number, _ = paid
    services.order_refund(number=number, amount=Decimal("5.00"), key="part")
    assert services.order_fulfil(number=number).status == "fulfilled"
    services.order_refund(number=number, amount=Decimal("5.00"), key="after")
    with pytest.raises(TransitionRefused, match="shipped already"):
        services.order_fulfil(number=number)


def test_the_customer_is_named_not_a_user_id(client, manager_client, django_user_model, settings):
    """Staff read who bought: the account's name and username (a link to it), or that it was a guest; never
    'User id: 24' or an empty '-'."""
    settings.RATE_LIMITS = {}
    token, _ = cart_with(1)
    guest = checkout(client, body(token)).json()["number"]
    html = page(manager_client, guest)
    assert "User id" not in html and "Guest checkout" in html
    grace = django_user_model.objects.create_user("grace", "grace@example.com", "pw-for-tests-only",
                                                  first_name="Grace", last_name="Hopper")
    token, _ = cart_with(1, user_id=grace.pk)
    client.force_login(grace)
    number = checkout(client, body(token)).json()["number"]
    assert Order.objects.get(number=number).user_id == grace.pk
    html = page(manager_client, number)
    assert "User id" not in html and "Grace Hopper (grace)" in html


def test_the_refund_page_says_in_words_what_was_refunded_and_what_is_left(paid, manager_client):
    number, _ = paid
    services.order_refund(number=number, amount=Decimal("12.50"), key="part")
    order = Order.objects.get(number=number)
    html = manager_client.get(f"/admin/orders/order/{order.pk}/refund/").content.decode()
    assert "partially_refunded" not in html and "Partially refunded" in html
    assert "17.50 USD left to refund" in html


def test_an_action_on_the_order_list_is_confirmed_in_a_sentence_naming_the_orders(paid, manager_client):
    number, _ = paid
    order = Order.objects.get(number=number)
    response = manager_client.post("/admin/orders/order/", {"action": "mark_shipped", "_selected_action": [order.pk]},
                                   follow=True)
    html = response.content.decode()
    assert f"Marked 1 order shipped: {number}." in html and "order(s)" not in html
