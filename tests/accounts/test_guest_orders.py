"""Guest orders follow the shopper (issue 22): when an account's address is confirmed by the link sent to it, the
orders placed as a guest with that address (any case) are in its history, and so are those placed with it later,
at the next log-in, while the account's address is still the one it confirmed; others' orders never are."""

import pytest
from django.core import mail

from orders.models import Order
from tests.accounts.test_views import PASSWORD, activation_link, sign_up
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


def test_guest_orders_with_the_confirmed_address_join_the_new_accounts_history(client, django_user_model):
    mine = checkout(client, body(cart_with(1)[0], email="Ada@Example.com")).json()["number"]
    theirs = checkout(client, body(cart_with(1)[0], email="someone@example.com")).json()["number"]
    sign_up(client)
    user = django_user_model.objects.get(username="ada")
    assert Order.objects.get(number=mine).user_id is None  # not before the address is confirmed
    response = client.post(activation_link(mail.outbox[0]), follow=True)
    assert "1 earlier order placed with ada@example.com is now in your order history." in \
        response.content.decode()
    assert Order.objects.get(number=mine).user_id == user.pk
    assert Order.objects.get(number=theirs).user_id is None
    assert [o["number"] for o in client.get("/api/v1/orders/").json()] == [mine]


def test_a_log_in_claims_nothing_the_address_was_not_confirmed_for(client, django_user_model):
    """An account's address may have been changed since it was confirmed: signing in joins no guest orders."""
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    number = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert Order.objects.get(number=number).user_id is None


def _log_in(client):
    return client.post("/account/login/", {"username": "ada", "password": PASSWORD}, follow=True)


def _signed_up_and_confirmed(client):
    sign_up(client)
    client.post(activation_link(mail.outbox[0]))
    client.post("/account/logout/")
    assert "_auth_user_id" not in client.session


def test_a_guest_order_placed_later_with_the_confirmed_address_joins_at_the_next_log_in(client, django_user_model):
    """Signed up and confirmed, then bought as a guest with the account's own address: the order never reached
    the history, however often they logged in."""
    _signed_up_and_confirmed(client)
    mine = checkout(client, body(cart_with(1)[0], email="ADA@example.com")).json()["number"]
    theirs = checkout(client, body(cart_with(1)[0], email="someone@example.com")).json()["number"]
    assert Order.objects.get(number=mine).user_id is None
    page = _log_in(client).content.decode()
    assert "1 earlier order placed with ada@example.com is now in your order history." in page
    assert Order.objects.get(number=mine).user_id == django_user_model.objects.get(username="ada").pk
    assert Order.objects.get(number=theirs).user_id is None
    assert [o["number"] for o in client.get("/api/v1/orders/").json()] == [mine]


def test_an_address_staff_changed_in_the_admin_claims_nothing_at_log_in(client, admin_client, django_user_model):
    """Staff may set any address on an account (a typo fixed on the phone, or a mistake): no link confirmed it, so
    logging in joins neither that address's guest orders nor the old confirmed address's."""
    _signed_up_and_confirmed(client)
    ada = django_user_model.objects.get(username="ada")
    response = admin_client.post(f"/admin/auth/user/{ada.pk}/change/", {
        "username": "ada", "email": "grace@example.com", "first_name": "", "last_name": "", "is_active": "on",
        "date_joined_0": "2026-12-01", "date_joined_1": "08:00:00", "last_login_0": "", "last_login_1": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert django_user_model.objects.get(pk=ada.pk).email == "grace@example.com"
    graces = checkout(client, body(cart_with(1)[0], email="grace@example.com")).json()["number"]
    old_address = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]
    page = _log_in(client).content.decode()
    assert "_auth_user_id" in client.session and "now in your order history" not in page
    assert Order.objects.filter(number__in=[graces, old_address], user_id__isnull=False).count() == 0
    assert client.get("/api/v1/orders/").json() == []


def test_an_address_confirmed_by_an_e_mail_change_claims_its_later_guest_orders_at_log_in(
        client, django_user_model, django_capture_on_commit_callbacks):
    from tests.accounts.test_email_change import ask, link_in

    _signed_up_and_confirmed(client)
    _log_in(client)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, email="ada@lovelace.example", password=PASSWORD)
    client.post(link_in(mail.outbox[0]))
    client.post("/account/logout/")
    new = checkout(client, body(cart_with(1)[0], email="ada@lovelace.example")).json()["number"]
    old = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]
    assert "1 earlier order placed with ada@lovelace.example" in _log_in(client).content.decode()
    ada = django_user_model.objects.get(username="ada")
    assert Order.objects.get(number=new).user_id == ada.pk
    assert Order.objects.get(number=old).user_id is None  # the address it no longer has


def test_a_look_alike_address_claims_nothing_and_leaves_the_real_one_free(client, django_user_model):
    """PostgreSQL's UPPER() under the server's locale (and Unicode case folding) takes 'gmaıl.com', with a dotless
    ı, for 'gmail.com': another domain, which a stranger can own and so confirm. Its account must claim none of the
    real address's guest orders, and the real owner must still be able to sign up."""
    victims = checkout(client, body(cart_with(1)[0], email="ada@gmail.com")).json()["number"]
    sign_up(client, username="mallory", email="ada@gmaıl.com")
    page = client.post(activation_link(mail.outbox[-1]), follow=True).content.decode()
    assert "now in your order history" not in page
    client.post("/account/logout/")
    later = checkout(client, body(cart_with(1)[0], email="ADA@GMAIL.COM")).json()["number"]
    client.post("/account/login/", {"username": "mallory", "password": PASSWORD})
    assert Order.objects.filter(number__in=[victims, later], user_id__isnull=False).count() == 0
    client.post("/account/logout/")
    sign_up(client, username="ada", email="ada@gmail.com")
    assert mail.outbox[-1].to == ["ada@gmail.com"] and activation_link(mail.outbox[-1])
    client.post(activation_link(mail.outbox[-1]))
    ada = django_user_model.objects.get(username="ada")
    assert set(Order.objects.filter(user_id=ada.pk).values_list("number", flat=True)) == {victims, later}


def test_a_sign_up_left_unconfirmed_by_a_stranger_is_taken_over_by_the_next_sign_up(client, django_user_model):
    """A stranger signed up with Ada's address and never confirmed: Ada's own sign-up must give the account her
    name and password, so her link activates an account she can log in to and the stranger's password cannot."""
    sign_up(client, username="evil", email="ada@example.com")
    stale = activation_link(mail.outbox[-1])
    mine = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]
    sign_up(client, username="ada", email="ada@example.com")
    assert mail.outbox[-1].body.startswith("Hello ada,")
    client.post(stale)  # the stranger's link is void now
    assert not django_user_model.objects.get(email="ada@example.com").is_active
    assert "_auth_user_id" not in client.session
    client.post(activation_link(mail.outbox[-1]))
    assert django_user_model.objects.filter(email="ada@example.com").count() == 1
    ada = django_user_model.objects.get(email="ada@example.com")
    assert ada.username == "ada" and ada.is_active and ada.check_password(PASSWORD)
    assert Order.objects.get(number=mine).user_id == ada.pk
    client.post("/account/logout/")
    client.post("/account/login/", {"username": "evil", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_a_failing_claim_does_not_stop_the_log_in(client, monkeypatch):
    """The orders' claim failing (a lock timeout, a lost connection) must not lock a shopper out: they are signed
    in, the orders join at a later log-in."""
    from django.db import OperationalError

    from orders import services as order_services

    _signed_up_and_confirmed(client)
    number = checkout(client, body(cart_with(1)[0], email="ada@example.com")).json()["number"]

    def fails(**_):
        raise OperationalError("canceling statement due to lock timeout")

    monkeypatch.setattr(order_services, "order_claim_guest_orders", fails)
    response = _log_in(client)
    assert response.status_code == 200 and "_auth_user_id" in client.session
    assert Order.objects.get(number=number).user_id is None
    monkeypatch.undo()
    client.post("/account/logout/")
    _log_in(client)
    assert Order.objects.get(number=number).user_id is not None
