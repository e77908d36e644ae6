import re

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext

from cart import services as cart_services
from store.core import outbox
from tests.factories import make_product

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-test-password-42"


def activation_link(message):
    return re.search(r"https?://[^/\s]+(/account/activate/\S+/)", message.body).group(1)


def sign_up(client, username="ada", email="ada@example.com"):
    """(Its e-mail goes out after commit; a test's transaction never commits, so it is sent at once here.)"""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post("/account/signup/", {"username": username, "email": email,
                                                "password1": PASSWORD, "password2": PASSWORD})


def test_sign_up_sends_a_link_that_activates_signs_in_and_keeps_the_guest_cart(client, django_user_model):
    sku = make_product(stock=5).variants[0].sku
    client.post("/cart/add/", {"sku": sku, "quantity": "2"})
    guest_token = client.session["cart_token"]
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/account/signup/sent/"
    assert "Check your e-mail" in client.get(response["Location"]).content.decode()
    user = django_user_model.objects.get(username="ada")
    assert not user.is_active and "_auth_user_id" not in client.session
    assert not client.login(username="ada", password=PASSWORD)  # not before the address is confirmed
    [message] = mail.outbox
    assert message.to == ["ada@example.com"] and "Confirm your account" in message.subject
    link = activation_link(message)
    assert client.get(link).status_code == 200  # a mail scanner following the link activates nothing
    assert not django_user_model.objects.get(pk=user.pk).is_active
    assert client.post(link)["Location"] == "/account/"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["cart_token"] == guest_token
    assert cart_services.cart_get(token=guest_token, user_id=user.pk).lines[0].quantity == 2
    assert "Welcome, ada!" in client.get("/account/").content.decode()
    client.logout()
    assert client.post(link).status_code == 400  # used once: signing in voided it


def test_an_activation_link_is_not_a_password_reset_link(client, django_user_model):
    sign_up(client)
    link = activation_link(mail.outbox[0])
    reset = link.replace("/activate/", "/reset/")
    assert b"Choose a new password" not in client.get(reset, follow=True).content


def test_sign_up_errors_are_shown_on_the_form(client, django_user_model):
    django_user_model.objects.create_user("taken", "taken@example.com", PASSWORD)
    html = client.post("/account/signup/", {"username": "taken", "email": "other@example.com",
                                            "password1": "short", "password2": "other"}).content.decode()
    assert "A user with that username already exists." in html
    assert "The two password fields didn" in html
    assert mail.outbox == []


def test_sign_up_with_an_address_that_has_an_account_answers_exactly_like_a_new_one(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    new = sign_up(Client(), username="grace", email="grace@example.com")
    mail.outbox.clear()
    taken = sign_up(client, username="mallory", email="ADA@example.com")
    assert (taken.status_code, taken["Location"]) == (new.status_code, new["Location"])
    assert client.get(taken["Location"]).content == Client().get(new["Location"]).content
    assert "_auth_user_id" not in client.session
    assert not django_user_model.objects.filter(username="mallory").exists()
    assert django_user_model.objects.filter(email__iexact="ada@example.com").count() == 1
    [message] = mail.outbox  # the owner hears of it; the one who asked learns nothing
    assert message.to == ["ada@example.com"] and "tried to sign up" in message.subject
    assert "/account/login/" in message.body and "/account/password-reset/" in message.body
    assert "/account/activate/" not in message.body


def test_signing_up_again_before_confirming_sends_the_same_accounts_link_again(client, django_user_model):
    sign_up(client)
    sign_up(Client(), username="ada2")
    assert django_user_model.objects.filter(email="ada@example.com").count() == 1
    assert [m.subject for m in mail.outbox] == ["Confirm your account at " + settings.STORE_NAME] * 2
    assert Client().post(activation_link(mail.outbox[1]))["Location"] == "/account/"


def test_log_in_merges_the_guest_cart_into_the_saved_one_and_says_so(client, django_user_model):
    spec = make_product(name="Head Torch", stock=[10, 10])
    a, b = (v.sku for v in spec.variants)
    user = django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    saved = cart_services.cart_create(user_id=user.pk).token
    cart_services.cart_add(token=saved, sku=a, quantity=1, user_id=user.pk)
    client.post("/cart/add/", {"sku": a, "quantity": "2"})
    client.post("/cart/add/", {"sku": b, "quantity": "1"})
    response = client.post("/account/login/", {"username": "ada", "password": PASSWORD, "next": "/cart/"})
    assert response["Location"] == "/cart/"
    assert client.session["cart_token"] == saved
    html = client.get("/cart/").content.decode()
    assert "We added 3 items from your earlier visit to your cart." in html
    lines = {line.sku: line.quantity for line in cart_services.cart_get(token=saved, user_id=user.pk).lines}
    assert lines == {a: 3, b: 1}


def test_wrong_password_is_a_form_error(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    html = client.post("/account/login/", {"username": "ada", "password": "nope"}).content.decode()
    assert "Please enter a correct username and password" in html


def test_log_out_is_a_post_and_leaves_the_saved_cart_for_next_time(client, django_user_model):
    sku = make_product(name="Head Torch", stock=5).variants[0].sku
    user = django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    client.post("/cart/add/", {"sku": sku, "quantity": "2"})
    saved = client.session["cart_token"]
    assert client.get("/account/logout/").status_code == 405
    assert client.post("/account/logout/").status_code == 302
    assert "_auth_user_id" not in client.session and "cart_token" not in client.session
    assert client.get("/account/").status_code == 302
    assert "Your cart is empty" in client.get("/cart/").content.decode()  # a signed-out browser shows none of it
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})  # next time
    assert client.session["cart_token"] == saved
    assert "Head Torch" in client.get("/cart/").content.decode()
    lines = cart_services.cart_get(token=saved, user_id=user.pk).lines
    assert [(line.sku, line.quantity) for line in lines] == [(sku, 2)]


def test_password_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    known = client.post("/account/password-reset/", {"email": "ada@example.com"})
    unknown = Client().post("/account/password-reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert client.get(known["Location"]).content == Client().get(unknown["Location"]).content
    outbox.relay_pending()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_password_reset_does_the_same_work_with_or_without_an_account(django_user_model):
    """Timing cannot tell: the request only records the ask (the same statements either way); the e-mail goes out
    from the outbox's worker."""
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    statements = []
    for email in ("ada@example.com", "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            assert Client().post("/account/password-reset/", {"email": email}).status_code == 302
        statements.append([re.sub(r"'[^']*'|\d+", "?", q["sql"]) for q in queries.captured_queries])
    assert statements[0] == statements[1] and statements[0]
    assert mail.outbox == []  # nothing sent inside either request
    outbox.relay_pending()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]


def test_password_reset_by_email(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client.post("/account/password-reset/", {"email": "ada@example.com"})
    outbox.relay_pending()
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/account/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    client.post(form_page.redirect_chain[-1][0], {"new_password1": PASSWORD + "x", "new_password2": PASSWORD + "x"})
    assert client.login(username="ada", password=PASSWORD + "x")


def test_header_shows_log_in_or_account(client, django_user_model):
    make_product()
    assert 'href="/account/login/">Log in<' in client.get("/").content.decode()
    client.force_login(django_user_model.objects.create_user("ada"))
    html = client.get("/").content.decode()
    assert 'href="/account/">Account<' in html and "Hi, ada" in html
