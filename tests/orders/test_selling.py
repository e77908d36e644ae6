"""Selling (issue 22): shipping methods, tax and promo codes on the order and in the amount charged; a promo code's
last use goes to exactly one of many racing checkouts; a cancelled order gives its use back."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cart import services as cart_services
from inventory import services as inventory_services
from orders import services as order_services
from orders.models import Order, PromoCode, PromoCodeUse
from payments.models import Payment, SandboxCharge
from shipping import services as shipping_services
from shipping.models import ShippingBand, ShippingMethod, TaxRate
from tests.concurrency import race
from tests.orders.helpers import CARD_DECLINED, body, cart_with, checkout

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


@pytest.fixture
def methods():
    shipping_services.shipping_seed_defaults()  # standard 4.95 (free from 75), express 14.95, everywhere


def charged(number: str) -> Decimal:
    (payment,) = Payment.objects.filter(order_reference=number)
    (charge,) = SandboxCharge.objects.filter(idempotency_key=f"order-{number}")
    assert payment.amount == charge.amount
    return charge.amount


def test_without_a_method_the_cheapest_is_charged_and_recorded(methods, client):
    token, _ = cart_with(2, price="20.00")
    answer = checkout(client, body(token))
    assert answer.status_code == 201, answer.json()
    order = answer.json()
    assert (order["subtotal"], order["discount"], order["shipping"], order["tax"], order["total"]) == \
        ("40.00", "0.00", "4.95", "0.00", "44.95")
    assert order["shipping_method"] == "standard"
    assert charged(order["number"]) == Decimal("44.95")
    row = Order.objects.get(number=order["number"])
    assert (row.shipping_method, row.shipping_method_name, row.total) == ("standard", "Standard", Decimal("44.95"))


def test_a_chosen_method_and_its_free_threshold_and_weight_bands(methods, client):
    token, _ = cart_with(1, price="20.00")
    answer = checkout(client, body(token, shipping_method="express", expected_total="34.95"))
    assert answer.status_code == 201, answer.json()
    assert charged(answer.json()["number"]) == Decimal("34.95")
    token, _ = cart_with(4, price="20.00")  # 80.00: standard is free from 75
    assert checkout(client, body(token)).json()["shipping"] == "0.00"
    heavy = ShippingMethod.objects.create(code="freight", name="Freight", price=Decimal("50.00"),
                                          basis="weight", countries=["GB"], position=5)
    ShippingBand.objects.create(method=heavy, starts_at=Decimal("0"), price=Decimal("3.00"))
    shipping_services.shipping_invalidate()
    token, _ = cart_with(1, price="20.00")
    answer = checkout(client, body(token))  # weightless: freight's first band, 3.00, is now the cheapest
    assert (answer.json()["shipping_method"], answer.json()["shipping"]) == ("freight", "3.00")


def test_a_method_that_does_not_deliver_there_is_refused_before_anything_is_reserved(methods, client):
    ShippingMethod.objects.filter(code="express").update(countries=["US"])
    shipping_services.shipping_invalidate()
    token, sku = cart_with(1, stock=3)
    answer = checkout(client, body(token, shipping_method="express"))
    assert answer.status_code == 409
    assert (answer.json()["code"], answer.json()["field"]) == ("shipping_method_unavailable", "shipping_method")
    assert Order.objects.count() == 0 and Payment.objects.count() == 0
    assert inventory_services.stock_levels(sku=sku).reserved == 0


def test_the_shipping_methods_api_prices_them_for_the_cart(methods, client, settings):
    token, _ = cart_with(4, price="20.00")
    answer = client.get("/api/v1/shipping-methods/", {"country": "gb", "cart_token": token})
    assert answer.status_code == 200
    assert [(m["code"], m["name"], m["price"], m["estimate"]) for m in answer.json()] == [
        ("standard", "Standard", "0.00", "3–5 business days"), ("express", "Express", "14.95", "1–2 business days")]
    assert {m["currency"] for m in answer.json()} == {settings.STORE_CURRENCY}
    assert [m["code"] for m in answer.json()] == ["standard", "express"]
    assert client.get("/api/v1/shipping-methods/", {"country": "GBR"}).status_code == 400
    assert client.get("/api/v1/shipping-methods/").status_code == 400
    assert client.get("/api/v1/shipping-methods/", {"country": "GB", "cart_token": "nope"}).status_code == 404


@pytest.mark.parametrize("country", ["XX", "ZZ", "AA"])
def test_the_shipping_methods_api_lists_nothing_for_a_code_that_is_no_country(methods, client, country):
    """As the checkout refuses it: a client must not be offered methods for an address it cannot check out to."""
    answer = client.get("/api/v1/shipping-methods/", {"country": country})
    assert answer.status_code == 400, answer.content
    assert answer.json() == {"code": "invalid_input", "param": "country",
                             "message": f"{country} is not a country we can ship to; pick one from the list."}


def test_tax_added_per_line_and_on_shipping_or_included(methods, client):
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    token, _ = cart_with(3, price="3.33")  # 9.99 -> 2.00 (1.998 rounded); shipping 4.95 -> 0.99
    order = checkout(client, body(token)).json()
    assert (order["subtotal"], order["shipping"], order["tax"], order["total"]) == \
        ("9.99", "4.95", "2.99", "17.93")
    assert charged(order["number"]) == Decimal("17.93")
    TaxRate.objects.filter(country="GB").update(prices_include_tax=True)
    shipping_services.shipping_invalidate()
    token, _ = cart_with(1, price="12.00")  # 12.00 holds 2.00; 4.95 holds 0.82 (net 4.125 rounds up to 4.13)
    order = checkout(client, body(token)).json()
    assert (order["tax"], order["tax_included"], order["total"]) == ("2.82", True, "16.95")


def test_a_rate_changed_since_the_shopper_looked_is_price_changed(methods, client):
    token, _ = cart_with(1, price="10.00")
    TaxRate.objects.create(country="GB", rate=Decimal("10"))
    shipping_services.shipping_invalidate()
    answer = checkout(client, body(token, expected_total="14.95"))
    assert answer.status_code == 409 and answer.json()["code"] == "price_changed"
    assert Order.objects.count() == 0


def test_a_percent_code_comes_off_the_total_charged_and_is_counted(methods, client):
    order_services.promo_code_create(code="save10", percent=Decimal("10"))
    token, _ = cart_with(2, price="20.00")
    order = checkout(client, body(token, promo_code="Save10")).json()
    assert (order["subtotal"], order["discount"], order["shipping"], order["total"], order["promo_code"]) == \
        ("40.00", "4.00", "4.95", "40.95", "SAVE10")
    assert charged(order["number"]) == Decimal("40.95")
    assert PromoCode.objects.get(code="SAVE10").uses == 1


def test_a_code_on_one_product_shares_its_discount_over_that_products_lines_only(methods, client):
    target = cart_with(1, price="10.00")
    other_token, other_sku = cart_with(1, price="30.00")
    from catalog import services as catalog_services
    slug = catalog_services.variant_prices(skus=[target[1]])[target[1]].product_slug
    order_services.promo_code_create(code="ONLY", amount=Decimal("15.00"), products=[slug])
    cart_services.cart_add(token=other_token, sku=target[1], quantity=1)
    order = checkout(client, body(other_token, promo_code="only")).json()
    assert order["discount"] == "10.00"  # at most what the product costs
    lines = {line.sku: line for line in Order.objects.get(number=order["number"]).lines.all()}
    assert (lines[target[1]].discount, lines[other_sku].discount) == (Decimal("10.00"), Decimal("0.00"))


@pytest.mark.parametrize(("setup", "why"), [
    ({}, "does not exist"),
    ({"ends_at": -1}, "has expired"),
    ({"starts_at": +1}, "is not valid yet"),
    ({"min_subtotal": Decimal("100")}, "needs an order of at least 100.00"),
    ({"max_uses": 1, "uses": 1}, "has been used up"),
])
def test_a_code_that_cannot_be_used_is_409_and_nothing_is_reserved_or_charged(methods, client, setup, why):
    if setup:
        fields = dict(setup)
        for when in ("starts_at", "ends_at"):
            if when in fields:
                fields[when] = timezone.now() + timezone.timedelta(days=fields[when])
        PromoCode.objects.create(code="CODE", kind="percent", value=Decimal("10"), **fields)
    token, sku = cart_with(1, stock=3)
    answer = checkout(client, body(token, promo_code="code"))
    assert answer.status_code == 409, answer.json()
    assert answer.json()["code"] == "promo_code_unavailable" and why in answer.json()["message"]
    assert answer.json()["field"] == "promo_code"
    assert Order.objects.count() == 0 and Payment.objects.count() == 0
    assert inventory_services.stock_levels(sku=sku).reserved == 0


def test_uses_per_customer(methods, client):
    order_services.promo_code_create(code="ONCE", percent=Decimal("5"), per_customer=1)
    token, _ = cart_with(1)
    assert checkout(client, body(token, promo_code="ONCE")).status_code == 201
    token, _ = cart_with(1)
    answer = checkout(client, body(token, promo_code="ONCE"))
    assert answer.status_code == 409 and answer.json()["code"] == "promo_code_unavailable"
    token, _ = cart_with(1)
    assert checkout(client, body(token, promo_code="ONCE", email="other@example.com")).status_code == 201
    assert PromoCode.objects.get(code="ONCE").uses == 2


@pytest.mark.parametrize("account_first", [True, False])
def test_uses_per_customer_count_the_account_and_its_e_mail_address_together(methods, django_user_model,
                                                                             account_first):
    """A code once per customer is used once by a shopper whether signed in or as a guest with their address:
    counted by the account alone, it was used again by checking out signed out with the same address."""
    order_services.promo_code_create(code="ONCE", percent=Decimal("5"), per_customer=1)
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    signed_in = Client()
    signed_in.force_login(ada)

    def as_account():
        token, _ = cart_with(1, user_id=ada.pk)
        return checkout(signed_in, body(token, email="ada@example.com", promo_code="ONCE"))

    def as_guest():
        token, _ = cart_with(1)
        return checkout(Client(), body(token, email="Ada@Example.com ", promo_code="ONCE"))

    first, second = (as_account, as_guest) if account_first else (as_guest, as_account)
    assert first().status_code == 201
    answer = second()
    assert answer.status_code == 409, answer.json()
    assert answer.json()["code"] == "promo_code_unavailable"
    assert PromoCode.objects.get(code="ONCE").uses == 1


def test_a_signed_in_shoppers_use_counts_for_the_address_they_gave_too(methods, django_user_model):
    order_services.promo_code_create(code="ONCE", percent=Decimal("5"), per_customer=1)
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    signed_in = Client()
    signed_in.force_login(ada)
    token, _ = cart_with(1, user_id=ada.pk)
    number = checkout(signed_in, body(token, email="ada.work@example.com", promo_code="ONCE")).json()["number"]
    token, _ = cart_with(1)
    assert checkout(Client(), body(token, email="ada.work@example.com", promo_code="ONCE")).status_code == 409
    order_services.order_cancel(number=number, note="changed my mind")  # gives back both counts
    assert set(PromoCodeUse.objects.values_list("customer", "uses")) == {
        (f"u:{ada.pk}", 0), ("e:ada.work@example.com", 0)}
    token, _ = cart_with(1)
    assert checkout(Client(), body(token, email="ada.work@example.com", promo_code="ONCE")).status_code == 201


def test_a_guest_order_joining_an_account_brings_its_use_of_the_code_along(methods, django_user_model):
    order_services.promo_code_create(code="ONCE", percent=Decimal("5"), per_customer=1)
    token, _ = cart_with(1)
    number = checkout(Client(), body(token, email="ada@example.com", promo_code="ONCE")).json()["number"]
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    assert order_services.order_claim_guest_orders(user_id=ada.pk, email="ADA@example.com") == 1
    signed_in = Client()
    signed_in.force_login(ada)
    token, _ = cart_with(1, user_id=ada.pk)
    assert checkout(signed_in, body(token, email="ada.work@example.com", promo_code="ONCE")).status_code == 409
    order_services.order_cancel(number=number, note="changed my mind")  # the claimed order gives back both
    assert set(PromoCodeUse.objects.values_list("customer", "uses")) == {(f"u:{ada.pk}", 0),
                                                                          ("e:ada@example.com", 0)}
    assert checkout(signed_in, body(token, email="ada.work@example.com", promo_code="ONCE")).status_code == 201


def test_the_last_use_of_a_limited_code_goes_to_exactly_one_of_many_racing_checkouts(methods):
    """Twelve shoppers, each with their own cart and key, race for a code with one use left: one order gets it,
    the others are refused with nothing reserved or charged, and the count is exact."""
    PromoCode.objects.create(code="LAST", kind="amount", value=Decimal("5.00"), max_uses=3, uses=2)
    carts = [cart_with(1, stock=5)[0] for _ in range(12)]

    def buy(i):
        return Client().post("/api/v1/checkout/", json.dumps(body(carts[i], email=f"racer{i}@example.com",
                                                                   promo_code="LAST")),
                             content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"racer-{i}")

    answers = race(12, buy)
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1 and codes.count(409) == 11, codes
    assert all(a.json()["code"] == "promo_code_unavailable" for a in answers if a.status_code == 409)
    assert PromoCode.objects.get(code="LAST").uses == 3
    assert Order.objects.count() == 1 and Order.objects.get().promo_code == "LAST"
    assert Payment.objects.count() == 1 and SandboxCharge.objects.count() == 1
    assert PromoCodeUse.objects.get().uses == 1
    assert inventory_services.stock_invariant_violations() == []


def test_the_last_use_per_customer_goes_to_one_of_their_racing_checkouts(methods):
    order_services.promo_code_create(code="MINE", percent=Decimal("10"), per_customer=1)
    carts = [cart_with(1, stock=5)[0] for _ in range(8)]

    def buy(i):
        return Client().post("/api/v1/checkout/", json.dumps(body(carts[i], promo_code="MINE")),
                             content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"same-shopper-{i}")

    codes = sorted(a.status_code for a in race(8, buy))
    assert codes.count(201) == 1 and codes.count(409) == 7, codes
    assert PromoCode.objects.get(code="MINE").uses == 1 and Order.objects.count() == 1


def test_a_declined_cancelled_or_refunded_order_gives_its_use_back(methods, client):
    order_services.promo_code_create(code="BACK", percent=Decimal("10"), uses=1, per_customer=1)
    token, _ = cart_with(1)
    assert checkout(client, body(token, CARD_DECLINED, promo_code="BACK")).status_code == 402
    assert PromoCode.objects.get(code="BACK").uses == 0
    token, _ = cart_with(1)
    number = checkout(client, body(token, promo_code="BACK")).json()["number"]
    assert PromoCode.objects.get(code="BACK").uses == 1
    order_services.order_cancel(number=number, note="changed my mind")
    assert PromoCode.objects.get(code="BACK").uses == 0
    assert PromoCodeUse.objects.get().uses == 0
    token, _ = cart_with(1)
    assert checkout(client, body(token, promo_code="BACK")).status_code == 201


def test_a_refund_never_gives_back_more_than_was_paid(methods, client):
    order_services.promo_code_create(code="HALF", percent=Decimal("50"))
    token, _ = cart_with(1, price="30.00")
    number = checkout(client, body(token, promo_code="HALF")).json()["number"]
    assert charged(number) == Decimal("19.95")
    view = order_services.order_refund(number=number, amount=None, restock=True)
    assert view.status == "refunded"
    (payment,) = Payment.objects.filter(order_reference=number)
    assert payment.refunded_amount == Decimal("19.95")


def test_a_checkout_with_a_code_costs_one_statement_more_than_one_without(methods, client):
    order_services.promo_code_create(code="COUNT", percent=Decimal("10"))
    warm, _ = cart_with(1, stock=5)
    assert checkout(client, body(warm)).status_code == 201
    counts = []
    for code in ("", "COUNT"):
        token, _ = cart_with(1, stock=5)
        with CaptureQueriesContext(connection) as queries:
            assert checkout(client, body(token, promo_code=code)).status_code == 201
        counts.append(len(queries.captured_queries))
    assert counts[1] == counts[0] + 1, counts  # the code's read (its terms and the shopper's uses), nothing else


def test_the_promo_code_command(methods):
    out = StringIO()
    call_command("promo_code", "create", "spring", "--percent", "15", "--uses", "100", "--per-customer", "1",
                 "--min-subtotal", "20", stdout=out)
    assert "SPRING uses=0/100" in out.getvalue()
    out = StringIO()
    call_command("promo_code", "show", "SPRING", stdout=out)
    assert out.getvalue().startswith("SPRING uses=0/100 discount=15.00%")
    from django.core.management.base import CommandError
    with pytest.raises(CommandError):
        call_command("promo_code", "create", "SPRING", "--amount", "5", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("promo_code", "show", "NOPE", stdout=StringIO())


@pytest.mark.parametrize(("address", "field", "words"), [
    ({"country": "US", "postal_code": "97201", "region": ""}, "shipping_address.region", "state is required"),
    ({"country": "US", "postal_code": "97201", "region": "Atlantis"}, "shipping_address.region", "not one of"),
    ({"country": "US", "postal_code": "ABCDE", "region": "OR"}, "shipping_address.postal_code", "such as 97000"),
    # a New York code in Oregon: the example is Oregon's (it was the country's first, 95014, a California one)
    ({"country": "US", "postal_code": "10005", "region": "Oregon"}, "shipping_address.postal_code",
     "such as 97000 in that region"),
    ({"country": "DE", "postal_code": "1234"}, "shipping_address.postal_code", "Germany"),
    ({"country": "ZZ", "postal_code": "1"}, "shipping_address.country", "not a country we can ship to"),
])
def test_an_address_the_country_would_not_deliver_is_400_at_its_field(client, address, field, words):
    token, _ = cart_with(1, stock=3)
    data = body(token)
    data["shipping_address"] = {**data["shipping_address"], **address}
    answer = checkout(client, data)
    assert answer.status_code == 400, answer.json()
    assert answer.json()["field"] == field and words in answer.json()["message"]
    assert Order.objects.count() == 0


def test_a_client_of_before_regions_sending_no_region_key_still_checks_out(client):
    """docs/api.md's first address had no region: a body without the key keeps working (the postal code is still
    checked); the page, and any client that sends the key, must give the region where the country has them."""
    token, _ = cart_with(1, stock=3)
    data = body(token)
    data["shipping_address"] = {"name": "Ada", "line1": "1 Test Street", "line2": "", "city": "Testville",
                                "postal_code": "12345", "country": "US"}
    answer = checkout(client, data)
    assert answer.status_code == 201, answer.json()
    data = body(cart_with(1, stock=3)[0])
    data["shipping_address"] = {**data["shipping_address"], "country": "US", "postal_code": "ABCDE"}
    assert checkout(client, data).json()["field"] == "shipping_address.postal_code"


def test_a_region_is_stored_as_its_code_taxed_at_its_rate_and_printed_the_countrys_way(methods, client):
    TaxRate.objects.create(country="US", rate=Decimal("5"))
    TaxRate.objects.create(country="US", region="OR", rate=Decimal("0"))
    shipping_services.shipping_invalidate()
    data = body(cart_with(1, price="20.00")[0])
    data["shipping_address"] = {"name": "Ada", "line1": "1 Main St", "city": "Portland", "region": "Oregon",
                                "postal_code": "97201", "country": "us", "phone": "+1 503 555 0100"}
    order = checkout(client, data).json()
    assert (order["tax"], order["total"]) == ("0.00", "24.95")
    row = Order.objects.get(number=order["number"])
    assert (row.shipping_address["region"], row.shipping_address["phone"]) == ("OR", "+1 503 555 0100")
    page = client.get(order["url"]).content.decode()
    assert "PORTLAND, OR 97201" in page
    data = body(cart_with(1, price="20.00")[0])
    data["shipping_address"] = {**data["shipping_address"], "country": "US", "region": "WA", "postal_code": "98101"}
    assert checkout(client, data).json()["tax"] == "1.25"  # 5% of 20.00 + 4.95 (the country's rate)
