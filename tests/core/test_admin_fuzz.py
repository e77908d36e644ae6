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


CHANGELISTS = ["/admin/orders/order/", "/admin/returns/return/", "/admin/inventory/stocklevel/",
               "/admin/inventory/stockmovement/", "/admin/inventory/reservation/", "/admin/inventory/flashsale/",
               "/admin/catalog/product/", "/admin/payments/payment/"]


def test_bulk_actions_with_selections_that_are_no_ids_are_refused_without_failing(client, staff_login, settings):
    """A changelist's action posted with a selection that is not a row's id (hand-made or a tampered form): Django
    filters pk__in with it as it is, which raised a 500. Now it is "no items selected", and nothing changes."""
    settings.RATE_LIMITS = {}
    token, _ = cart_with(1, stock=5, price="10.00")
    checkout(client, body(token))
    staff = staff_login("boss", "Manager", ["catalog.delete_product"])
    staff.raise_request_exception = False
    actions = {"/admin/orders/order/": "cancel", "/admin/returns/return/": "approve",
               "/admin/inventory/reservation/": "release_selected", "/admin/inventory/flashsale/": "delete_selected",
               "/admin/catalog/product/": "make_inactive"}
    failures = []
    for url, action in actions.items():
        for selected in (["abc"], ["1.5"], [""], ["1", "x"]):  # (a NUL is the guard's 400: test_guard.py)
            response = staff.post(url, {"action": action, "index": "0", "_selected_action": selected})
            if response.status_code != 302:
                failures.append((url, selected, response.status_code))
    assert not failures, failures
    assert list(Order.objects.values_list("status", flat=True)) == ["paid"]


def test_changelist_date_lookups_out_of_the_calendar_are_refused_without_failing(staff_login):
    """A year lookup Django cannot turn into dates (0, -5, 99999, in any form) failed when the list was read: a 500.
    Now it is the changelist's own "wacky lookup" answer (?e=1), as for any other bad lookup."""
    staff = staff_login("boss", "Manager")
    staff.raise_request_exception = False
    failures = []
    for url in CHANGELISTS:
        for query in ("created_at__year=99999", "created_at__year=0", "created_at__year=-5",
                      "created_at__iso_year=99999", "created_at__year__gt=99999", "created_at__year__in=2026,0",
                      "created_at__year=1", "created_at__year=9999"):
            response = staff.get(f"{url}?{query}")
            if response.status_code >= 500:
                failures.append((url, query, response.status_code))
    assert not failures, failures
    assert staff.get("/admin/orders/order/?created_at__year=2026").status_code == 200
