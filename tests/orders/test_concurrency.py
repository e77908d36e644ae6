"""The same Idempotency-Key from 20 threads makes one order and one charge; 30 buyers for 10 units make 10 paid
orders. Real threads, real connections."""

import json

import pytest
from django.test import Client

from cart import services as cart_services
from inventory import services as inventory_services
from orders.models import Order
from payments.models import Payment, SandboxCharge
from tests.concurrency import race
from tests.orders.helpers import body, cart_with

pytestmark = pytest.mark.django_db(transaction=True)


def post(data, key):
    return Client().post("/api/v1/checkout/", json.dumps(data), content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY=key)


def test_twenty_submissions_with_one_key_make_one_order_and_one_charge(settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(1, stock=5)
    data = body(token)
    responses = race(20, lambda i: post(data, "one-key-for-all"))
    statuses = {r.status_code for r in responses}
    assert statuses <= {201, 409}, statuses
    numbers = {r.json()["number"] for r in responses if r.status_code == 201}
    assert len(numbers) == 1
    assert Order.objects.count() == 1 and Payment.objects.count() == 1 and SandboxCharge.objects.count() == 1
    assert inventory_services.stock_levels(sku=sku).on_hand == 4


def test_thirty_buyers_for_ten_units_make_exactly_ten_paid_orders(settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(1, stock=10)
    carts = [token]
    for _ in range(29):
        cart = cart_services.cart_create().token
        cart_services.cart_add(token=cart, sku=sku, quantity=1)
        carts.append(cart)
    responses = race(30, lambda i: post(body(carts[i], email=f"buyer{i}@example.com"), f"buyer-{i}"))
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 10 and codes.count(409) == 20, codes
    assert all(r.json()["code"] == "insufficient_stock" for r in responses if r.status_code == 409)
    assert Order.objects.filter(status="paid").count() == 10
    assert Payment.objects.filter(state="succeeded").count() == 10
    levels = inventory_services.stock_levels(sku=sku)
    assert (levels.on_hand, levels.reserved) == (0, 0)
    assert inventory_services.stock_invariant_violations() == []
