"""Paid orders to return, and reading what moved."""

from decimal import Decimal

from django.test import Client

from inventory import services as inventory_services
from orders.models import OrderLine
from payments.models import Payment
from tests.orders.helpers import body, cart_with, checkout


def paid_order(*, quantity: int = 3, stock: int = 5, price: str = "10.00", user=None) -> tuple[str, str, str]:
    """A paid order of ``quantity`` units at ``price`` with ``stock - quantity`` left on the shelf: (number, sku,
    access token). With ``user`` it is that signed-in shopper's."""
    client = Client()
    user_id = None
    if user is not None:
        client.force_login(user)
        user_id = user.pk
    token, sku = cart_with(quantity, stock=stock, price=price, user_id=user_id)
    response = checkout(client, body(token))
    assert response.status_code == 201, response.content
    return response.json()["number"], sku, response.json()["access_token"]


def on_hand(sku: str) -> int:
    return inventory_services.stock_levels(sku=sku).on_hand


def returned(number: str) -> int:
    return sum(OrderLine.objects.filter(order__number=number).values_list("returned_quantity", flat=True))


def refunded(number: str) -> Decimal:
    return Payment.objects.get(order_reference=number).refunded_amount
