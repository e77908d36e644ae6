"""Guest orders follow the shopper (issue 22): when an account's address is confirmed by the link sent to it, the
orders placed as a guest with that address (any case) are in its history; others' orders are not."""

import pytest
from django.core import mail

from orders.models import Order
from tests.accounts.test_views import PASSWORD, activation_link, sign_up
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


def test_guest_orders_with_the_confirmed_address_join_the_new_accounts_history(client, django_user_model):
    mine = checkout(client, body(cart_with(1)[0], email="Ada@Example.com")).json()["number"]
    theirs = checkout(client, body(cart_with(1)[0], email="someone@example.com")).json()["number"]
    sign_up(client)
    user = django_user_model.objects.get(username="ada")
    assert Order.objects.get(number=mine).user_id is None  # not before the address is confirmed
    response = client.post(activation_link(mail.outbox[0]), follow=True)
    assert "1 earlier order placed with ada@example.com is now in your order history." in \
        response.content.decode()
    assert Order.objects.get(number=mine).user_id == user.pk
    assert Order.objects.get(number=theirs).user_id is None
    assert [o["number"] for o in client.get("/api/v1/orders/").json()] == [mine]


def test_a_log_in_claims_nothing_the_address_was_not_confirmed_for(client, django_user_model):
    """An account's address may have been changed since it was confirmed: signing in joins no guest orders."""
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    number = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert Order.objects.get(number=number).user_id is None
