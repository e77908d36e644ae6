"""The tax is named on the order as it was where the order shipped (issue 22: "shown on the cart, checkout, order
page and e-mails, recorded on the order"): the checkout said "VAT" or "Sales tax", the order page and the receipt
said "Tax" (the order kept only the amount), and a rate renamed later must not rename an order's tax."""

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from orders.models import Order
from shipping import services as shipping_services
from shipping.models import TaxRate
from store.core import outbox
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def test_the_order_page_and_receipt_name_the_tax_as_it_was_charged(client):
    shipping_services.shipping_seed_defaults()
    rate = TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"), prices_include_tax=True)
    shipping_services.shipping_invalidate()
    token, _ = cart_with(1, price="60.00")
    answer = checkout(client, body(token, email="ada@example.com"))  # (body(): a GB address)
    assert answer.status_code == 201, answer.content
    number, url = answer.json()["number"], answer.json()["url"]
    order = Order.objects.get(number=number)
    assert order.tax_name == "VAT" and order.tax == Decimal("10.82")  # 60.00 and 4.95 of shipping, each holding 20%
    rate.name = "Value added tax"
    rate.save()
    shipping_services.shipping_invalidate()
    page = Client().get(url).content.decode()
    assert "VAT (included)" in page and "Value added tax" not in page
    outbox.relay_pending()
    [receipt] = mail.outbox
    assert "VAT (included in the prices): $10.82" in receipt.body
    assert "VAT (included in the prices)" in receipt.alternatives[0][0]
