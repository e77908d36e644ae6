"""Shipping methods, tax rates and the checkout page's shipping choice as a careless staff member or shopper meets
them (issue 22, "Bad input"): refused at the field with a sentence, never a constraint's name or a method or rate
for a country no checkout can name."""

from decimal import Decimal

import pytest

from shipping import services as shipping_services
from shipping.models import ShippingMethod, TaxRate
from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def _field_error(response, field: str) -> str:
    return " ".join(response.context["adminform"].form.errors.get(field, []))


# ---------------------------------------------------------------- tax rates and shipping methods in the admin
def test_a_tax_rate_of_100_percent_or_more_is_refused_at_its_field(admin_client):
    response = admin_client.post("/admin/shipping/taxrate/add/", {"country": "GB", "name": "VAT", "rate": "100"})
    assert response.status_code == 200
    assert "less than 100" in _field_error(response, "rate")
    assert not TaxRate.objects.exists()


def test_a_tax_rates_country_is_taken_in_any_case_and_must_be_one_we_ship_to(admin_client):
    response = admin_client.post("/admin/shipping/taxrate/add/", {"country": "xx", "name": "VAT", "rate": "20"})
    assert response.status_code == 200 and "XX is not a country" in _field_error(response, "country")
    response = admin_client.post("/admin/shipping/taxrate/add/", {"country": "gb", "name": "VAT", "rate": "20"})
    assert response.status_code == 302
    assert TaxRate.objects.get().country == "GB"


def _add_method(admin_client, countries: str):
    return admin_client.post("/admin/shipping/shippingmethod/add/", {
        "code": "eco", "name": "Eco", "countries": countries, "price": "3.00", "basis": "subtotal",
        "position": "0", "is_active": "on", "bands-TOTAL_FORMS": "0", "bands-INITIAL_FORMS": "0",
        "bands-MIN_NUM_FORMS": "0", "bands-MAX_NUM_FORMS": "1000"})


def test_a_methods_countries_are_taken_in_any_case_and_must_be_ones_we_ship_to(admin_client):
    """'XX' was saved (a method for a country no checkout can name); 'us' was refused with 'Item 1 in the array
    did not validate'."""
    response = _add_method(admin_client, "US, XX")
    assert response.status_code == 200 and "XX is not a country" in _field_error(response, "countries")
    assert not ShippingMethod.objects.exists()
    assert _add_method(admin_client, "us, ca").status_code == 302
    assert ShippingMethod.objects.get().countries == ["US", "CA"]
    assert [q.code for q in shipping_services.shipping_quotes(country="CA", subtotal=Decimal("10"))] == ["eco"]


# ---------------------------------------------------------------- the checkout page
def test_paying_with_a_method_that_does_not_deliver_to_the_new_country_says_so_once_at_its_field(client):
    """The page listed the US's methods; the shopper switched the country to GB and paid with the US-only one. The
    page said it twice: Django's 'Select a valid choice. eco is not one of the available choices.' under the
    buttons and the shop's sentence in a box beside them."""
    import re

    from orders.models import Order
    from tests.orders.test_pages import form

    shipping_services.shipping_seed_defaults()
    ShippingMethod.objects.create(code="eco", name="Eco", countries=["US"], price=Decimal("3.00"))
    shipping_services.shipping_invalidate()
    spec = make_product(name="Summit Pack", price="50.00", stock=3)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    page = client.get("/checkout/").content.decode()
    assert "Eco · 3.00" in page
    html = client.post("/checkout/", form(page, shipping_method="eco")).content.decode()  # (form(): a GB address)
    assert "not one of the available choices" not in html
    errors = re.search(r'id="id_shipping_method_error">(.*?)</div>', html, re.S).group(1)
    assert "&#x27;eco&#x27; does not deliver to GB" in errors and "available: standard, express" in errors
    assert html.count("does not deliver to GB") == 1
    assert not Order.objects.exists()


def test_paying_after_changing_the_method_without_updating_totals_shows_the_new_total_and_charges_nothing(client):
    """The shopper picked express and pressed Pay without 'Update totals': the page answered 'Prices changed since
    you looked', which blamed the shop for the shopper's own choice and did not say what to do."""
    import re

    from orders.models import Order
    from tests.orders.test_pages import form

    shipping_services.shipping_seed_defaults()
    spec = make_product(name="Summit Pack", price="50.00", stock=3)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    page = client.get("/checkout/").content.decode()
    assert re.search(r'name="expected_total" value="54.95"', page)  # standard, for the page's first address
    html = client.post("/checkout/", form(page, shipping_method="express")).content.decode()
    assert not Order.objects.exists()
    assert "Prices changed since you looked" not in html
    assert "The total is now 64.95 USD for this address, shipping method and promo code" in html
    assert "Pay $64.95" in html and re.search(r'name="expected_total" value="64.95"', html)
    response = client.post("/checkout/", form(html, shipping_method="express"))
    assert response.status_code == 302 and Order.objects.get().total == Decimal("64.95")
