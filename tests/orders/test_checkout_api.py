from decimal import Decimal

import pytest
from django.core import mail

from cart import services as cart_services
from catalog.models import Product
from inventory import services as inventory_services
from orders.models import Order
from payments.models import Payment, SandboxCharge
from store.core import outbox
from tests.orders.helpers import CARD_DECLINED, body, cart_with, checkout

pytestmark = pytest.mark.django_db


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


def test_a_paid_checkout_commits_the_stock_and_empties_the_cart(client):
    token, sku = cart_with(2, stock=5, price="25.00")
    response = checkout(client, body(token))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "paid" and data["total"] == "50.00" and data["currency"] == "USD"
    name = Product.objects.get(variants__sku=sku).name
    assert data["lines"] == [{"sku": sku, "name": f"{name} — Option 0", "quantity": 2, "unit_price": "25.00",
                              "line_total": "50.00"}]
    assert data["access_token"] and data["url"] == f"/orders/{data['number']}/?token={data['access_token']}"
    assert levels(sku) == (3, 0)
    assert cart_services.cart_get(token=token).lines == ()
    assert Payment.objects.get(order_reference=data["number"]).state == "succeeded"
    assert inventory_services.stock_invariant_violations() == []


def test_the_receipt_goes_out_through_the_outbox(client):
    token, _ = cart_with()
    number = checkout(client, body(token, email="ada@example.com")).json()["number"]
    outbox.relay_pending()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"] and number in message.subject
    assert message.alternatives and number in message.alternatives[0][0]


def test_a_declined_card_cancels_the_order_and_releases_the_stock(client):
    token, sku = cart_with(1, stock=2)
    response = checkout(client, body(token, card=CARD_DECLINED))
    assert response.status_code == 402
    data = response.json()
    assert data["code"] == "payment_declined" and data["message"] and data["number"]
    assert Order.objects.get(number=data["number"]).status == "cancelled"
    assert levels(sku) == (2, 0)
    assert len(cart_services.cart_get(token=token).lines) == 1  # the shopper can try another card


@pytest.mark.parametrize("card", ["4000000000009995", "4000000000000119"])
def test_insufficient_funds_and_processing_errors_charge_nothing(client, card):
    token, sku = cart_with()
    response = checkout(client, body(token, card=card))
    assert response.status_code == 402
    assert levels(sku) == (5, 0)
    assert Payment.objects.get(order_reference=response.json()["number"]).state == "failed"


def test_the_same_key_and_body_replays_the_first_answer_and_charges_once(client):
    token, sku = cart_with(1, stock=5)
    first = checkout(client, body(token), key="same-key")
    again = checkout(client, body(token), key="same-key")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert Order.objects.count() == 1 and SandboxCharge.objects.count() == 1
    assert levels(sku) == (4, 0)


def test_the_same_key_with_another_body_is_refused(client):
    token, _ = cart_with()
    checkout(client, body(token), key="k1")
    response = checkout(client, body(token, email="other@example.com"), key="k1")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(("key", "status", "code"), [(None, 400, "idempotency_key_required"),
                                                     ("", 400, "idempotency_key_required"),
                                                     ("k" * 300, 400, "invalid_input")])
def test_a_missing_or_too_long_key_is_refused_before_anything_happens(client, key, status, code):
    token, sku = cart_with()
    response = checkout(client, body(token), key=key)
    assert response.status_code == status and response.json()["code"] == code
    assert not Order.objects.exists() and levels(sku) == (5, 0)


def test_not_enough_stock_reserves_and_charges_nothing(client):
    token, sku = cart_with(3, stock=3)
    inventory_services.stock_receive(sku=sku, quantity=-2, reason="damaged")
    response = checkout(client, body(token))
    assert response.status_code == 409
    assert response.json() | {"message": ""} == {"code": "insufficient_stock", "sku": sku, "available": 1,
                                                  "requested": 3, "message": ""}
    assert not Order.objects.exists() and not Payment.objects.exists() and levels(sku) == (1, 0)


@pytest.mark.parametrize(("change", "field"), [
    ({"email": "not-an-email"}, "email"),
    ({"shipping_address": {"name": "A"}}, "line1"),
    ({"shipping_address": "nope"}, "shipping_address"),
    ({"payment": {"method": "card", "card_number": "4242424242424241"}}, "payment.card_number"),
    ({"payment": {"method": "cash"}}, "payment.method"),
])
def test_bad_details_are_a_400_naming_the_field_and_nothing_moves(client, change, field):
    token, sku = cart_with()
    response = checkout(client, {**body(token), **change})
    assert response.status_code == 400, response.content
    assert field in (response.json().get("field") or "") or field in response.json()["message"]
    assert not Order.objects.exists() and levels(sku) == (5, 0)


def test_a_bad_card_number_is_invalid_card(client):
    token, _ = cart_with()
    response = checkout(client, body(token, card="1234"))
    assert response.status_code == 400 and response.json()["code"] == "invalid_card"


def test_empty_and_unknown_carts(client):
    empty = cart_services.cart_create().token
    assert checkout(client, body(empty)).json()["code"] == "cart_empty"
    response = checkout(client, body("no-such-cart"))
    assert response.status_code == 404 and response.json()["code"] == "cart_not_found"


def test_a_changed_price_asks_the_shopper_to_confirm_the_new_total(client):
    token, _ = cart_with(1, price="25.00")
    response = checkout(client, body(token, expected_total="20.00"))
    assert response.status_code == 409
    assert response.json()["code"] == "price_changed" and response.json()["total"] == "25.00"
    assert checkout(client, body(token, expected_total="25.00")).status_code == 201


def test_malformed_json_is_a_400(client):
    assert checkout(client, "{not json").status_code == 400


def test_an_order_is_visible_to_its_token_its_owner_and_staff_only(client, django_user_model, support_client):
    user = django_user_model.objects.create_user("ada", password="pw-for-tests-only")
    client.force_login(user)
    token, _ = cart_with(user_id=user.pk)
    data = checkout(client, body(token)).json()
    number, secret = data["number"], data["access_token"]
    assert client.get(f"/api/v1/orders/{number}/").json()["status"] == "paid"  # the owner
    history = client.get(f"/api/v1/orders/{number}/").json()["history"]
    assert [h["status"] for h in history] == ["pending_payment", "paid"]
    assert [o["number"] for o in client.get("/api/v1/orders/").json()] == [number]
    from django.test import Client

    stranger = Client()
    assert stranger.get(f"/api/v1/orders/{number}/").status_code == 404
    assert stranger.get(f"/api/v1/orders/{number}/?token=wrong").status_code == 404
    assert stranger.get(f"/api/v1/orders/{number}/?token={secret}").status_code == 200
    assert stranger.get("/api/v1/orders/").status_code in (401, 403)
    assert support_client.get(f"/api/v1/orders/{number}/").json()["number"] == number  # staff who read orders


def test_prices_are_read_at_checkout_not_from_the_cart(client, on_commit):
    from catalog import services as catalog_services
    from catalog.models import Product, Variant

    token, sku = cart_with(1, price="25.00")
    with on_commit():
        Variant.objects.filter(sku=sku).update(price=Decimal("30.00"))
        catalog_services.product_refresh(product_ids=[Product.objects.get(variants__sku=sku).pk])
    assert checkout(client, body(token)).json()["total"] == "30.00"


def test_checkout_prices_come_from_the_catalogue_not_the_cart(client):
    from django_redis import get_redis_connection

    token, sku = cart_with(2, price="25.00")
    # the price the cart keeps beside a line (the one the shopper saw, for a notice if it changes), gone wrong
    get_redis_connection("default").hset(f"cart:t:{token}", f"l:{sku}", "2:0.01")
    assert cart_services.cart_get(token=token).subtotal == Decimal("50.00")  # shown from the catalogue, too
    response = checkout(client, body(token))
    assert response.status_code == 201 and response.json()["total"] == "50.00"
