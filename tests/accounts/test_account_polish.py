"""Shopper account details (issue 23, item 5): a log-out button in the header, log-in coming back to the page it
was asked from and taking the e-mail address as well as the username, the account page changing the e-mail
address and the password, and form help texts tied to their inputs for screen readers."""

import re

import pytest

from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", "Ada@Example.com", "an-old-secret-42")


def test_the_header_has_a_log_out_button_for_a_signed_in_shopper(client, ada):
    make_product()
    client.force_login(ada)
    html = client.get("/").content.decode()
    assert re.search(r'<form method="post" action="/account/logout/"[^>]*>.*csrfmiddlewaretoken.*Log out</button>',
                     html, re.S)
    assert client.post("/account/logout/").status_code == 302
    assert 'href="/account/login/">Log in<' in client.get("/").content.decode()


def test_log_in_comes_back_to_the_page_it_was_asked_from(client, ada, settings):
    settings.RATE_LIMITS = {}
    spec = make_product()
    html = client.get(f"/p/{spec.slug}/").content.decode()
    link = re.search(r'href="(/account/login/\?next=[^"]+)">Log in<', html).group(1)
    assert link == f"/account/login/?next=%2Fp%2F{spec.slug}%2F"
    page = client.get(link.replace("&amp;", "&")).content.decode()
    assert f'name="next" value="/p/{spec.slug}/"' in page
    response = client.post("/account/login/", {"username": "ada", "password": "an-old-secret-42",
                                               "next": f"/p/{spec.slug}/"})
    assert response.status_code == 302 and response["Location"] == f"/p/{spec.slug}/"


@pytest.mark.parametrize("name", ["ada", "ada@example.com", " ADA@example.COM "])
def test_log_in_takes_the_username_or_the_e_mail_address(client, ada, settings, name):
    settings.RATE_LIMITS = {}
    response = client.post("/account/login/", {"username": name, "password": "an-old-secret-42"})
    assert response.status_code == 302 and response["Location"] == "/account/"


def test_a_wrong_password_with_an_e_mail_address_is_the_usual_error(client, ada, settings):
    settings.RATE_LIMITS = {}
    response = client.post("/account/login/", {"username": "ada@example.com", "password": "wrong"})
    assert response.status_code == 200 and "enter a correct" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_the_account_page_changes_the_e_mail_address_with_the_password(client, ada):
    client.force_login(ada)
    html = client.get("/account/").content.decode()
    assert 'href="/account/email/"' in html and 'href="/account/password/"' in html
    response = client.post("/account/email/", {"email": "ada@lovelace.example", "password": "wrong"})
    assert response.status_code == 200 and "That is not your password." in response.content.decode()
    response = client.post("/account/email/", {"email": "ada@lovelace.example", "password": "an-old-secret-42"})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.email == "Ada@example.com"  # until the link sent to the new address is opened (test_email_change.py)


def test_the_account_page_changes_the_password_and_stays_signed_in(client, ada):
    client.force_login(ada)
    response = client.post("/account/password/", {"old_password": "an-old-secret-42",
                                                  "new_password1": "a-new-secret-4711",
                                                  "new_password2": "a-new-secret-4711"})
    assert response.status_code == 302 and response["Location"] == "/account/"
    ada.refresh_from_db()
    assert ada.check_password("a-new-secret-4711")
    assert client.get("/account/").status_code == 200  # still signed in


def test_help_texts_are_tied_to_their_inputs(client):
    html = client.get("/account/signup/").content.decode()
    described = re.search(r'<input[^>]*name="email"[^>]*aria-describedby="([^"]+)"', html).group(1)
    assert f'id="{described.split()[0]}"' in html
