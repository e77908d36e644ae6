"""Selling on the pages (issue 22): the checkout page lists the shipping methods for the address, prices the order
(subtotal, discount, shipping, tax, total) as the checkout will, and places it with the method and code chosen."""

import re
from decimal import Decimal

import pytest

from orders import services as order_services
from orders.models import Order
from payments.models import Payment
from shipping import services as shipping_services
from shipping.models import TaxRate
from tests.factories import make_product
from tests.orders.test_pages import form

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(client):
    shipping_services.shipping_seed_defaults()
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    spec = make_product(name="Summit Pack", price="50.00", stock=3)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    return spec


def test_the_page_lists_methods_and_prices_the_order_then_places_it_as_shown(client, shop):
    page = client.get("/checkout/").content.decode()  # (a US address by default: no tax rate there)
    assert "Standard · 4.95" in page and "Express · 14.95" in page
    assert "Pay $54.95" in page
    page = client.post("/checkout/", {**form(page), "update": "1", "shipping_method": "express",
                                      "promo_code": "nope"}).content.decode()
    assert "Promo code NOPE does not exist." in page
    order_services.promo_code_create(code="TENOFF", amount=Decimal("10.00"))
    page = client.post("/checkout/", {**form(page), "update": "1", "shipping_method": "express",
                                      "promo_code": "tenoff"}).content.decode()
    # GB: 50 - 10 = 40, VAT 8.00 on it and 2.99 on 14.95 of express: 40 + 14.95 + 10.99 = 65.94
    assert "Pay $65.94" in page and "VAT" in page and "Discount (TENOFF)" in page
    expected = re.search(r'name="expected_total" value="([^"]*)"', page).group(1)
    assert expected == "65.94"
    response = client.post("/checkout/", form(page, shipping_method="express", promo_code="TENOFF"))
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get()
    assert (order.shipping_method, order.discount, order.tax, order.total) == \
        ("express", Decimal("10.00"), Decimal("10.99"), Decimal("65.94"))
    assert Payment.objects.get().amount == Decimal("65.94")
    order_page = client.get(response["Location"]).content.decode()
    assert "Express" in order_page and "−$10.00" in order_page and "$65.94" in order_page


def test_a_code_used_up_between_pricing_and_paying_is_shown_at_its_field(client, shop):
    order_services.promo_code_create(code="ONE", percent=Decimal("10"), uses=1)
    page = client.post("/checkout/", {**form(client.get("/checkout/").content.decode()), "update": "1",
                                      "promo_code": "ONE"}).content.decode()
    from orders.models import PromoCode
    PromoCode.objects.filter(code="ONE").update(uses=1)
    html = client.post("/checkout/", form(page, promo_code="ONE")).content.decode()
    assert "Promo code ONE has been used up." in html
    assert Order.objects.count() == 0
