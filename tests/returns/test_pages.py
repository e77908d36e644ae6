"""The shopper's pages: the "Return items" form on the order page (owner, or the guest with the secret link),
form errors for bad input with nothing stored, the return's status on the order page and on /account/, cancelling,
the form explaining why it is closed, and no return section where nothing is left to return."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from orders import services as order_services
from orders.models import OrderEvent
from returns import services
from returns.models import Return
from tests.returns.helpers import paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def order_page(client, number, token=""):
    response = client.get(f"/orders/{number}/" + (f"?token={token}" if token else ""))
    assert response.status_code == 200
    return response.content.decode()


def test_a_guest_returns_items_from_the_order_page_and_sees_the_status_change(client):
    number, sku, token = paid_order(quantity=3, price="10.00")
    page = order_page(client, number, token)
    assert "Return items" in page and f"SKU {sku} · 3 of 3 can be returned" in page
    action = re.search(r'<form method="post" action="([^"]*)" class="return-form"', page).group(1)
    assert action == f"/orders/{number}/return/?token={token}"
    response = client.post(action.replace("&amp;", "&"), {"units_0": "2", "reason": "damaged", "note": "cracked"})
    assert response.status_code == 302 and response["Location"] == f"/orders/{number}/?token={token}"
    ret = Return.objects.get()
    assert ret.status == "requested" and ret.lines.get().quantity == 2 and ret.note == "cracked"
    page = order_page(client, number, token)
    assert ret.number in page and "Requested" in page and "1 of 3 can be returned" in page
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    services.return_refund(number=ret.number)
    page = order_page(client, number, token)
    assert "Refunded" in page and "20.00" in page


@pytest.mark.parametrize(("data", "field"), [
    ({"units_0": "0", "reason": "other"}, None),
    ({"units_0": "-1", "reason": "other"}, "units_0"),
    ({"units_0": "1.5", "reason": "other"}, "units_0"),
    ({"units_0": "4", "reason": "other"}, "units_0"),
    ({"units_0": "1", "reason": "bored"}, "reason"),
    ({"units_0": "1", "reason": "other", "note": "x" * 5000}, "note"),
])
def test_bad_input_is_a_form_error_and_nothing_is_stored(client, data, field):
    number, _, token = paid_order(quantity=3)
    response = client.post(f"/orders/{number}/return/?token={token}", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "field-error" in page or "message-error" in page
    if field:
        assert re.search(rf'<div class="field has-error">\s*<label for="id_{field}"', page), page
    assert Return.objects.count() == 0


def test_the_signed_in_owner_sees_returns_on_the_order_page_and_in_the_account(django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only")
    number, _sku, _ = paid_order(quantity=2, user=owner)
    client = Client()
    client.force_login(owner)
    response = client.post(f"/orders/{number}/return/", {"units_0": "1", "reason": "wrong_item"})
    assert response.status_code == 302
    ret = Return.objects.get()
    account = client.get("/account/").content.decode()
    assert "Your returns" in account and ret.number in account and "Requested" in account
    assert ret.number in order_page(client, number)


def test_someone_else_cannot_open_or_post_the_return_form(django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only")
    number, _sku, _ = paid_order(quantity=2, user=owner)
    stranger = Client()
    stranger.force_login(django_user_model.objects.create_user("stranger", password="pw-for-tests-only"))
    assert stranger.get(f"/orders/{number}/return/").status_code == 404
    assert stranger.post(f"/orders/{number}/return/", {"units_0": "1", "reason": "other"}).status_code == 404
    assert Client().post(f"/orders/{number}/return/?token=wrong", {"units_0": "1", "reason": "other"}
                         ).status_code == 404
    assert Return.objects.count() == 0


def test_the_shopper_cancels_a_return_before_sending_it(client):
    number, _sku, token = paid_order(quantity=1)
    client.post(f"/orders/{number}/return/?token={token}", {"units_0": "1", "reason": "other"})
    ret = Return.objects.get()
    assert Client().post(f"/returns/{ret.number}/cancel/", {"order": number}).status_code == 404  # no secret
    response = client.post(f"/returns/{ret.number}/cancel/?token={token}", {"order": number})
    assert response.status_code == 302
    ret.refresh_from_db()
    assert ret.status == "cancelled" and "Cancelled" in order_page(client, number, token)


def test_after_the_window_the_form_says_when_it_closed(client):
    number, _sku, token = paid_order(quantity=1)
    OrderEvent.objects.filter(order__number=number).update(at=timezone.now() - timedelta(days=40))
    page = order_page(client, number, token)
    assert "return window of this order closed on" in page and 'class="return-form"' not in page
    response = client.post(f"/orders/{number}/return/?token={token}", {"units_0": "1", "reason": "other"})
    assert response.status_code == 200 and "closed on" in response.content.decode()
    assert Return.objects.count() == 0


@pytest.mark.parametrize("data", [
    {"units_0": "9" * 40, "reason": "other"}, {"units_0": "\x00", "reason": "other"},
    {"units_0": "1", "reason": "other", "note": "é" * 5000}, {"units_7": "1", "reason": "other"}, {},
    {"units_0": ["1", "2"], "reason": ["other", "damaged"]},
])
def test_junk_posts_are_form_errors_never_failures(client, data):
    number, _, token = paid_order(quantity=1)
    response = client.post(f"/orders/{number}/return/?token={token}", data)
    assert response.status_code in (200, 400) and Return.objects.count() == 0


def test_cancelling_a_return_that_is_not_there_or_by_get_is_refused(client):
    number, _, token = paid_order(quantity=1)
    assert client.post(f"/returns/R-NOPE/cancel/?token={token}", {"order": number}).status_code == 404
    assert client.post("/returns/R-NOPE/cancel/", {}).status_code == 404
    assert client.get("/returns/R-NOPE/cancel/").status_code == 405


def test_the_form_names_the_restocking_fees_when_there_are_any(client, settings):
    number, _, token = paid_order(quantity=1)
    assert "restocking fee" not in order_page(client, number, token)
    settings.RETURN_RESTOCKING_FEES = {"changed_mind": 10}
    assert "restocking fee of 10% if changed my mind" in order_page(client, number, token)


def test_a_fully_refunded_order_shows_no_return_section(client):
    """It showed a folded 'Return items' that, opened, said there was nothing left to return."""
    number, _, token = paid_order(quantity=2)
    order_services.order_refund(number=number, key="all")
    page = order_page(client, number, token)
    assert "Return items" not in page and 'class="order-returns"' not in page
    assert "nothing left to return" not in page


def test_once_every_item_came_back_the_order_shows_its_returns_and_no_return_form(client):
    number, _, token = paid_order(quantity=2, price="10.00")
    client.post(f"/orders/{number}/return/?token={token}", {"units_0": "2", "reason": "other"})
    ret = Return.objects.get()
    page = order_page(client, number, token)  # every unit on a return still open: it may be cancelled, no more asked
    assert ret.number in page and "Cancel this return" in page and "Return items" not in page
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    services.return_refund(number=ret.number)
    page = order_page(client, number, token)
    assert ret.number in page and "Refunded $20.00" in page
    assert "Return items" not in page and "has been returned" not in page


def test_a_partly_refunded_order_still_offers_what_is_left_to_return(client):
    number, _, token = paid_order(quantity=3, price="10.00")
    order_services.order_refund(number=number, amount=Decimal("10.00"), restock=False, key="part")
    page = order_page(client, number, token)
    assert "Return items" in page and "3 of 3 can be returned" in page
