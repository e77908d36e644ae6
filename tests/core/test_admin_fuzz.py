"""Staff forms with bad input (generated, fixed seed): the stock adjustment, the refund, the flash-sale and the
product forms answer with form errors, never a 500."""

import random

import pytest

from inventory.models import StockLevel
from orders.models import Order
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db

JUNK = ["", "0", "-1", "-999999999999", "1e9", "abc", "<b>x</b>", "x" * 3000, "1.005", "NaN", "9" * 40,
        "2026-13-45 25:61", "tomorrow", "on", "true", "-0.01", "100000000"]


def test_staff_forms_refuse_bad_input_without_failing(client, staff_login, settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(2, stock=5, price="10.00")
    number = checkout(client, body(token)).json()["number"]
    staff = staff_login("boss", "Manager", ["catalog.add_category"])  # the least that may send all four forms
    staff.raise_request_exception = False
    order, level = Order.objects.get(number=number), StockLevel.objects.get(sku=sku)
    forms = {
        f"/admin/inventory/stocklevel/{level.pk}/adjust/": ["kind", "quantity", "reason"],
        f"/admin/orders/order/{order.pk}/refund/": ["amount", "reason", "restock", "key"],
        "/admin/inventory/flashsale/add/": ["sku", "starts_at_0", "starts_at_1", "active"],
        "/admin/catalog/category/add/": ["name", "slug", "parent"],
    }
    rng = random.Random(3)
    failures, seen = [], set()
    for _ in range(150):
        url = rng.choice(list(forms))
        data = {field: rng.choice([*JUNK, sku]) for field in rng.sample(forms[url], rng.randint(1, len(forms[url])))}
        status = staff.post(url, data).status_code
        seen.add((url, status))
        if status >= 500:
            failures.append((url, data, status))
    assert not failures, failures[:3]
    assert {url for url, status in seen if status == 200} == set(forms)  # each form was reached and re-shown
