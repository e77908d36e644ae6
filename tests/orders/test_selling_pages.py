"""Selling on the pages (issue 22): the checkout page lists the shipping methods for the address, prices the order
(subtotal, discount, shipping, tax, total) as the checkout will, and places it with the method and code chosen."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services as order_services
from orders.models import Order, PromoCode
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


# ---------------------------------------------------------------- a promo code entered in the cart
US = {"country": "US", "region": "OR", "city": "Portland", "postal_code": "97201"}


def test_a_code_entered_in_the_cart_shows_its_discount_and_the_checkout_and_order_apply_it(client, shop):
    order_services.promo_code_create(code="TENOFF", amount=Decimal("10.00"))
    page = client.get("/cart/").content.decode()
    assert 'action="/cart/promo/"' in page and 'name="code"' in page
    response = client.post("/cart/promo/", {"code": " tenoff "})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    page = client.get("/cart/").content.decode()
    assert "Promo code TENOFF applied." in page
    assert "Discount (TENOFF)" in page and "−$10.00" in page and "$40.00" in page  # 50 - 10, before shipping
    page = client.get("/checkout/").content.decode()
    assert 'name="promo_code" value="TENOFF"' in page and "Discount (TENOFF)" in page
    assert "Pay $44.95" in page  # 40 + standard 4.95 (a US address: no tax rate there)
    response = client.post("/checkout/", form(page, promo_code="TENOFF", **US))
    assert response.status_code == 302, response.content.decode()[:3000]
    order = Order.objects.get()
    assert (order.promo_code, order.discount, order.total) == ("TENOFF", Decimal("10.00"), Decimal("44.95"))
    assert Payment.objects.get().amount == Decimal("44.95")
    assert client.session.get("promo_code") is None  # used: the next cart starts without it


@pytest.mark.parametrize(("setup", "message"), [
    ({}, "Promo code NOPE does not exist."),
    ({"ends_at": -1}, "Promo code NOPE has expired."),
    ({"min_subtotal": Decimal("100")}, "Promo code NOPE needs an order of at least 100.00."),
    ({"max_uses": 1, "uses": 1}, "Promo code NOPE has been used up."),
    ({"products": ["someone-elses-product"]}, "Promo code NOPE does not apply to anything in your cart."),
])
def test_a_code_that_cannot_be_used_is_said_why_on_the_cart_and_not_remembered(client, shop, setup, message):
    if setup:
        fields = dict(setup)
        if "ends_at" in fields:
            fields["ends_at"] = timezone.now() + timezone.timedelta(days=fields["ends_at"])
        PromoCode.objects.create(code="NOPE", kind="percent", value=Decimal("10"), **fields)
    client.post("/cart/promo/", {"code": "nope"})
    page = client.get("/cart/").content.decode()
    assert message in page and "Discount (" not in page
    assert "promo_code" not in client.session
    field = re.search(r'<input[^>]*name="promo_code"[^>]*>', client.get("/checkout/").content.decode()).group(0)
    assert "value=" not in field


@pytest.mark.parametrize(("code", "message"), [("", "Enter a promo code."), ("X" * 41, "at most 40 characters")])
def test_a_malformed_code_is_a_message_not_an_error(client, shop, code, message):
    response = client.post("/cart/promo/", {"code": code})
    assert response.status_code == 302
    assert message in client.get("/cart/").content.decode()
    assert client.post("/cart/promo/", {"code": "A\x00B"}).status_code == 400  # the shop's NUL guard


def test_removing_the_code_and_a_code_that_stops_applying_as_the_cart_changes(client, shop):
    order_services.promo_code_create(code="BIG", percent=Decimal("10"), min_subtotal=Decimal("60"))
    sku = shop.variants[0].sku
    client.post("/cart/update/", {"sku": sku, "quantity": "2"})
    client.post("/cart/promo/", {"code": "BIG"})
    assert "−$10.00" in client.get("/cart/").content.decode()
    client.post("/cart/update/", {"sku": sku, "quantity": "1"})  # 50.00: below the code's minimum now
    page = client.get("/cart/").content.decode()
    assert "Promo code BIG needs an order of at least 60.00." in page and "Discount (" not in page
    page = client.get("/checkout/").content.decode()
    assert "Promo code BIG needs an order of at least 60.00." in page and "Pay $54.95" in page
    client.post("/cart/promo/", {"remove": "1"})
    page = client.get("/cart/").content.decode()
    assert "Promo code removed." in page and "BIG" not in page


def test_a_code_changed_at_checkout_is_the_one_the_cart_shows(client, shop):
    order_services.promo_code_create(code="FIVE", amount=Decimal("5.00"))
    order_services.promo_code_create(code="TEN", amount=Decimal("10.00"))
    client.post("/cart/promo/", {"code": "FIVE"})
    page = client.get("/checkout/").content.decode()
    client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": "ten"})
    assert "Discount (TEN)" in client.get("/cart/").content.decode()
    client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": ""})
    assert "Discount (" not in client.get("/cart/").content.decode()


def test_the_code_form_needs_its_csrf_token(shop):
    from django.test import Client
    client = Client(enforce_csrf_checks=True)
    client.get("/cart/")
    assert client.post("/cart/promo/", {"code": "ANY"}).status_code == 403


def test_guessing_codes_on_the_cart_or_checkout_is_rate_limited(client, shop, settings, rate_clock):
    settings.RATE_LIMITS = {"promo": "3/m"}
    order_services.promo_code_create(code="REAL", amount=Decimal("5.00"))
    for guess in ("AAA", "BBB"):
        assert client.post("/cart/promo/", {"code": guess}).status_code == 302
    page = client.get("/checkout/").content.decode()
    assert client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": "CCC"}).status_code == 200
    response = client.post("/cart/promo/", {"code": "REAL"})
    assert response.status_code == 429 and response["Retry-After"]
    assert client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": "REAL"}).status_code == 429
    rate_clock.now += 60
    client.post("/cart/promo/", {"code": "REAL"})
    assert "Discount (REAL)" in client.get("/cart/").content.decode()


def test_a_code_that_cannot_be_used_stays_in_its_field_with_why_until_the_shopper_changes_it(client, shop):
    """It vanished from the field after one 'Update totals', so the next one showed no discount and no reason, and
    paying charged the full price for a code the shopper believed applied."""
    order_services.promo_code_create(code="BIG", percent=Decimal("10"), min_subtotal=Decimal("60"))
    page = client.get("/checkout/").content.decode()
    page = client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": "big"}).content.decode()
    field = re.search(r'<input[^>]*name="promo_code"[^>]*>', page).group(0)
    assert 'value="BIG"' in field and "Promo code BIG needs an order of at least 60.00." in page
    page = client.post("/checkout/", {**form(page, **US), "update": "1", "promo_code": "BIG"}).content.decode()
    assert "Promo code BIG needs an order of at least 60.00." in page
    html = client.post("/checkout/", form(page, promo_code="BIG", **US)).content.decode()
    assert "Promo code BIG needs an order of at least 60.00." in html and Order.objects.count() == 0


def test_a_signed_in_shopper_sees_shipping_tax_and_total_for_their_default_address_on_the_cart(django_user_model):
    """Issue 22 wants the tax shown on the cart too: for a shopper whose default address is known, the cart shows
    what the checkout will charge there (a guest's cart still says it is worked out at checkout)."""
    from django.test import Client

    shipping_services.shipping_seed_defaults()
    TaxRate.objects.create(country="US", region="NY", name="Sales tax", rate=Decimal("8.875"))
    shipping_services.shipping_invalidate()
    order_services.promo_code_create(code="TENOFF", amount=Decimal("10.00"))
    sku = make_product(name="Summit Pack", price="50.00", stock=3).variants[0].sku
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    shipping_services.address_save(user_id=ada.pk, fields={
        "name": "Ada Lovelace", "line1": "1 Liberty Plaza", "city": "New York", "region": "NY",
        "postal_code": "10006", "country": "US"})
    client = Client()
    client.force_login(ada)
    client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    client.post("/cart/promo/", {"code": "TENOFF"})
    page = client.get("/cart/").content.decode()
    # 50 - 10 = 40; standard 4.95; tax 3.55 on the line and 0.44 on shipping: 48.94
    assert "Shipping (Standard) to New York, NY" in page and "Sales tax" in page and "$3.99" in page
    assert "$48.94" in page and "Total before shipping and tax" not in page
    assert "Pay $48.94" in client.get("/checkout/").content.decode()
    guest = Client()
    guest.post("/cart/add/", {"sku": sku, "quantity": "1"})
    page = guest.get("/cart/").content.decode()
    assert "Sales tax" not in page and "Shipping and tax are calculated on the next step." in page
