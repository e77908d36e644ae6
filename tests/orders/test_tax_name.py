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


def test_the_api_order_body_names_the_tax_as_the_page_does(client):
    """The order page and e-mail said 'VAT'; the JSON API's order had the amount with no name."""
    shipping_services.shipping_seed_defaults()
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"), prices_include_tax=True)
    shipping_services.shipping_invalidate()
    answer = checkout(client, body(cart_with(1, price="60.00")[0], email="ada@example.com"))
    assert answer.status_code == 201, answer.content
    placed = answer.json()
    assert (placed["tax"], placed["tax_name"], placed["tax_included"]) == ("10.82", "VAT", True)
    again = Client().get(f"/api/v1/orders/{placed['number']}/?token={placed['access_token']}").json()
    assert again["tax_name"] == "VAT"


def test_the_openapi_order_lists_tax_name(client):
    components = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    for name in ("Order", "PlacedOrder", "PendingOrder"):
        assert "tax_name" in components[name]["properties"], name
        assert "tax_name" in components[name]["required"], name
