import re

import pytest

from inventory import services as inventory_services
from orders.models import Order
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_cart(client):
    spec = make_product(name="Summit Pack", price="120.00", stock=3)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    return spec


def form(page: str, **values) -> dict:
    data = dict(re.findall(r'name="(idempotency_key|expected_total)" value="([^"]*)"',
                                                      page))
    data.update({"email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Analytical Way", "line2": "",
                 "city": "London", "postal_code": "N1 7AA", "country": "GB", "card_number": "4242 4242 4242 4242"})
    data.update(values)
    return data


def test_cart_to_checkout_to_the_order_page(client, in_cart):
    assert 'href="/checkout/"' in client.get("/cart/").content.decode()
    page = client.get("/checkout/").content.decode()
    assert "Pay $120.00" in page and 'name="idempotency_key"' in page
    response = client.post("/checkout/", form(page))
    assert response.status_code == 302
    order_page = client.get(response["Location"]).content.decode()
    number = Order.objects.get().number
    assert f"Order {number}" in order_page and "Thank you! Your payment was received" in order_page
    assert client.get(f"/orders/{number}/").status_code == 200  # the session remembers the guest's link
    assert 'data-cart-count>0<' in order_page


def test_submitting_the_same_form_twice_places_one_order(client, in_cart):
    data = form(client.get("/checkout/").content.decode())
    first = client.post("/checkout/", data)
    second = client.post("/checkout/", data)
    assert first["Location"] == second["Location"]
    assert Order.objects.count() == 1


def test_a_declined_card_is_shown_on_the_form_with_a_fresh_key(client, in_cart):
    page = client.get("/checkout/").content.decode()
    data = form(page, card_number="4000000000000002")
    html = client.post("/checkout/", data).content.decode()
    assert "Your card was declined." in html
    new_key = re.search(r'name="idempotency_key" value="([^"]*)"', html).group(1)
    assert new_key != data["idempotency_key"]
    assert client.post("/checkout/", {**data, "idempotency_key": new_key,
                                      "card_number": "4242424242424242"}).status_code == 302


def test_an_item_sold_out_meanwhile_is_named(client, in_cart):
    page = client.get("/checkout/").content.decode()
    inventory_services.stock_set(sku=in_cart.variants[0].sku, on_hand=0, reason="sold in the shop")
    html = client.post("/checkout/", form(page)).content.decode()
    assert f"Only 0 of {in_cart.variants[0].sku} available" in html
    assert not Order.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("email", "nope", "Enter a valid email address."),
    ("country", "Germany", "Use the two-letter country code"),
    ("card_number", "1234", "That card number is not valid."),
    ("line1", "", "This field is required."),
])
def test_form_errors_in_place(client, in_cart, field, value, message):
    html = client.post("/checkout/", form(client.get("/checkout/").content.decode(), **{field: value})).content
    assert message in html.decode()
    assert not Order.objects.exists()


def test_a_fields_error_and_help_are_named_by_its_inputs_aria_describedby(client, in_cart):
    html = client.post("/checkout/", form(client.get("/checkout/").content.decode(), email="nope")).content.decode()
    tag = re.search(r'<input[^>]*name="email"[^>]*>', html).group(0)
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
    assert described == ["id_email_helptext", "id_email_error"] and 'aria-invalid="true"' in tag
    assert re.search(r'id="id_email_helptext"[^>]*>Your receipt', html)
    assert re.search(r'id="id_email_error"><p class="field-error" role="alert">Enter a valid email', html)
    tag = re.search(r'<input[^>]*name="phone"[^>]*>', html).group(0)  # help, no error
    assert 'aria-describedby="id_phone_helptext"' in tag and 'id="id_phone_helptext"' in html


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(client):
    assert client.get("/checkout/")["Location"] == "/cart/"


def test_another_shoppers_order_page_is_a_404(client, in_cart):
    client.post("/checkout/", form(client.get("/checkout/").content.decode()))
    from django.test import Client

    number = Order.objects.get().number
    assert Client().get(f"/orders/{number}/").status_code == 404
    assert Client().get(f"/orders/{number}/?token=wrong").status_code == 404


def test_order_history_for_a_signed_in_shopper(client, django_user_model):
    user = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    client.force_login(user)
    spec = make_product(price="9.00", stock=2)
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})
    client.post("/checkout/", form(client.get("/checkout/").content.decode()))
    number = Order.objects.get().number
    assert number in client.get("/account/orders/").content.decode()
    assert client.get(f"/orders/{number}/").status_code == 200


def test_staff_cancel_a_paid_order_from_the_admin(client, in_cart, manager_client):
    client.post("/checkout/", form(client.get("/checkout/").content.decode()))
    order = Order.objects.get()
    assert order.number in manager_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert order.number in manager_client.get("/admin/orders/order/?status=paid").content.decode()
    manager_client.post("/admin/orders/order/", {"action": "cancel", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == "refunded"
    levels = inventory_services.stock_levels(sku=in_cart.variants[0].sku)
    assert (levels.on_hand, levels.reserved) == (3, 0)
    assert order.number in manager_client.get("/admin/payments/payment/").content.decode()
    assert "_auth_user_id" not in client.session  # the shopper is still a guest: staff act on a Client of their own
    assert client.get(f"/orders/{order.number}/").status_code == 200


def test_staff_refund_part_of_an_order_once_however_often_the_form_is_sent(client, in_cart, manager_client):
    client.post("/checkout/", form(client.get("/checkout/").content.decode()))
    order = Order.objects.get()
    page = manager_client.get(f"/admin/orders/order/{order.pk}/refund/").content.decode()
    key = re.search(r'name="key" value="([^"]*)"', page).group(1)
    data = {"amount": "20.00", "reason": "scuffed", "key": key}
    assert manager_client.post(f"/admin/orders/order/{order.pk}/refund/", data).status_code == 302
    manager_client.post(f"/admin/orders/order/{order.pk}/refund/", data)
    order.refresh_from_db()
    assert order.status == "partially_refunded"
    from payments.models import Payment

    assert Payment.objects.get(order_reference=order.number).refunded_amount == 20
    too_much = manager_client.post(f"/admin/orders/order/{order.pk}/refund/",
                                   {"amount": "500.00", "reason": "x", "key": "another"})
    assert b"more than the 100.00 left" in too_much.content
