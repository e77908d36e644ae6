import re

import pytest
from django.core import mail

from cart import services as cart_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-test-password-42"


def test_sign_up_signs_in_and_keeps_the_guest_cart(client, django_user_model):
    sku = make_product(stock=5).variants[0].sku
    client.post("/cart/add/", {"sku": sku, "quantity": "2"})
    guest_token = client.session["cart_token"]
    response = client.post("/account/signup/", {"username": "ada", "email": "ada@example.com",
                                                "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/account/"
    user = django_user_model.objects.get(username="ada")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.session["cart_token"] == guest_token
    assert cart_services.cart_get(token=guest_token, user_id=user.pk).lines[0].quantity == 2
    assert "Welcome, ada!" in client.get("/account/").content.decode()


def test_sign_up_errors_are_shown_on_the_form(client, django_user_model):
    django_user_model.objects.create_user("taken", "taken@example.com", PASSWORD)
    html = client.post("/account/signup/", {"username": "taken", "email": "TAKEN@example.com",
                                            "password1": "short", "password2": "other"}).content.decode()
    assert "A user with that username already exists." in html
    assert "An account with this e-mail address already exists" in html
    assert "The two password fields didn" in html


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
    user = django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client.force_login(user)
    assert client.get("/account/logout/").status_code == 405
    assert client.post("/account/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/account/").status_code == 302


def test_password_reset_by_email(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client.post("/account/password-reset/", {"email": "ada@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/account/reset/\S+/)", mail.outbox[0].body).group(1)
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
