"""Changing the account's e-mail address (issue 23): the new address gets a signed, expiring link; the address
changes only when the account that asked opens it, signed in; the old address gets a notice; guest orders join the
account only with the address so confirmed; the form is rate limited."""

import re
import time

import pytest
from django.core import mail, signing
from django.test import Client

from accounts import services
from orders.models import Order
from tests.orders.helpers import body, cart_with, checkout

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_clock")]
PASSWORD = "an-old-secret-42"


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)


@pytest.fixture
def signed_in(client, ada):
    client.force_login(ada)
    return client


def ask(client, email="ada@lovelace.example", password=PASSWORD):
    return client.post("/account/email/", {"email": email, "password": password})


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/account/email/confirm/\S+/)", message.body).group(1)


def test_asking_changes_nothing_and_sends_a_link_to_the_new_address(signed_in, ada, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(signed_in)
    assert response.status_code == 302 and response["Location"] == "/account/"
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    [message] = mail.outbox
    assert message.to == ["ada@lovelace.example"] and "Confirm your new e-mail address" in message.subject
    assert "ada@example.com" not in message.to
    assert "sent a link to ada@lovelace.example" in signed_in.get("/account/").content.decode()


def test_opening_the_link_signed_in_changes_it_and_tells_the_old_address(signed_in, ada,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(signed_in)
    link = link_in(mail.outbox[0])
    page = signed_in.get(link)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "ada@lovelace.example" in page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(link, follow=True)
    assert "Your e-mail address is now ada@lovelace.example." in response.content.decode()
    ada.refresh_from_db()
    assert ada.email == "ada@lovelace.example"
    notice = mail.outbox[-1]
    assert notice.to == ["ada@example.com"] and "ada@lovelace.example" in notice.body
    assert signed_in.post(link).status_code == 400  # used: the address it was asked from is gone


def test_the_link_is_refused_to_another_account_and_asks_a_stranger_to_sign_in(signed_in, ada, django_user_model,
                                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ask(signed_in)
    link = link_in(mail.outbox[0])
    assert Client().post(link)["Location"].startswith("/account/login/?next=")
    other = Client()
    other.force_login(django_user_model.objects.create_user("eve", "eve@example.com", "eves-secret-4711"))
    assert other.get(link).status_code == 400 and other.post(link).status_code == 400
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert django_user_model.objects.get(username="eve").email == "eve@example.com"


class Yesterday(services.EmailChangeSigner):
    """A link signed longer ago than it stays good."""

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - services.EMAIL_CHANGE_MAX_AGE - 60)


def test_an_expired_forged_or_tampered_link_changes_nothing(signed_in, ada):
    old = Yesterday().sign_object({"u": ada.pk, "old": "ada@example.com", "new": "ada@lovelace.example"})
    forged = signing.TimestampSigner(salt="another").sign_object({"u": ada.pk, "old": "ada@example.com",
                                                                 "new": "ada@lovelace.example"})
    good = services.EmailChangeSigner().sign_object({"u": ada.pk, "old": "ada@example.com", "new": "a@b.example"})
    for token in (old, forged, good[:-1] + ("A" if good[-1] != "A" else "B"), "nonsense"):
        assert signed_in.post(f"/account/email/confirm/{token}/").status_code == 400
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert signed_in.post(f"/account/email/confirm/{good}/").status_code == 302  # (the same, untampered, works)


def test_an_unconfirmed_address_claims_no_guest_orders_and_a_confirmed_one_claims_its_own(
        client, ada, django_capture_on_commit_callbacks):
    victims = checkout(client, body(cart_with(1)[0], email="victim@example.com")).json()["number"]
    client.force_login(ada)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, email="victim@example.com")
    # the link went to the victim's mailbox; signing in again, or anything else the asker can do, claims nothing
    client.logout()
    client.post("/account/login/", {"username": "ada", "password": PASSWORD})
    assert "_auth_user_id" in client.session
    assert client.get("/api/v1/orders/").json() == []
    assert Order.objects.get(number=victims).user_id is None
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    mine = checkout(client, body(cart_with(1)[0], email="ada@lovelace.example")).json()["number"]
    Order.objects.filter(number=mine).update(user_id=None)  # placed as a guest with the new address
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ask(client)
    response = client.post(link_in(mail.outbox[0]), follow=True)
    assert "1 earlier order placed with ada@lovelace.example is now in your order history." in \
        response.content.decode()
    assert Order.objects.get(number=mine).user_id == ada.pk
    assert Order.objects.get(number=victims).user_id is None


def test_an_address_another_account_has_is_told_so_and_the_page_answers_the_same(
        signed_in, ada, django_user_model, django_capture_on_commit_callbacks):
    django_user_model.objects.create_user("grace", "grace@example.com", "graces-secret-4711")
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(signed_in, email="Grace@Example.com")
    assert response.status_code == 302 and response["Location"] == "/account/"
    [message] = mail.outbox
    assert message.to == ["Grace@Example.com"] and "already belongs to an account" in message.body
    assert "/account/email/confirm/" not in message.body and "ada" not in message.body.lower().replace("grace", "")
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


def test_a_wrong_password_or_the_same_address_is_a_form_error(signed_in):
    assert "That is not your password." in ask(signed_in, password="wrong").content.decode()
    assert "That is your address already." in ask(signed_in, email="ADA@example.com").content.decode()
    assert mail.outbox == []


def test_the_form_is_rate_limited_per_account(signed_in, settings):
    settings.RATE_LIMITS = {"email_change": "100/m", "email_change_account": "2/h"}
    assert ask(signed_in, password="wrong").status_code == 200
    assert ask(signed_in, password="wrong").status_code == 200
    response = ask(signed_in)
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert mail.outbox == []
