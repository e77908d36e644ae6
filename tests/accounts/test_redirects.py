"""Every ``next`` parameter is followed only to the shop's own host: never to another site, nor a scheme-relative
//host that browsers treat as one."""

import pytest
from django.test import Client

from tests.factories import make_product

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-enough-test-password-42"
ELSEWHERE = ["https://evil.example/", "//evil.example", "///evil.example", "http:\\\\evil.example"]


def stays_on_the_shop(response, expected):
    assert response.status_code == 302
    assert response["Location"] == expected


@pytest.mark.parametrize("target", ELSEWHERE)
def test_log_in_ignores_a_next_elsewhere(client, django_user_model, target):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    form = client.get("/account/login/", {"next": target}).content.decode()
    assert "evil.example" not in form
    stays_on_the_shop(client.post("/account/login/", {"username": "ada", "password": PASSWORD, "next": target}),
                      "/account/")
    stays_on_the_shop(client.get("/account/login/", {"next": target}), "/account/")  # already signed in


@pytest.mark.parametrize("target", ELSEWHERE)
def test_log_out_ignores_a_next_elsewhere(client, django_user_model, target):
    client.force_login(django_user_model.objects.create_user("ada"))
    stays_on_the_shop(client.post("/account/logout/", {"next": target}), "/")


@pytest.mark.parametrize("target", ELSEWHERE)
def test_sign_up_ignores_a_next_elsewhere(client, target):
    response = client.post(f"/account/signup/?next={target}", {"username": "ada", "email": "ada@example.com",
                                                               "password1": PASSWORD, "password2": PASSWORD})
    stays_on_the_shop(response, "/account/signup/sent/")


@pytest.mark.parametrize("target", ELSEWHERE)
def test_add_to_cart_goes_back_only_to_the_shop(target):
    sku = make_product(stock=5).variants[0].sku
    client = Client()
    refused = {"sku": sku, "quantity": "lots"}  # a refused form goes back where it came from
    stays_on_the_shop(client.post("/cart/add/", {**refused, "next": target}), "/cart/")
    stays_on_the_shop(client.post("/cart/add/", refused, HTTP_REFERER=target), "/cart/")
    stays_on_the_shop(client.post("/cart/add/", {**refused, "next": "/products/x/"}), "/products/x/")


def test_a_next_on_the_shop_is_followed(client, django_user_model):
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    stays_on_the_shop(client.post("/account/login/", {"username": "ada", "password": PASSWORD, "next": "/cart/"}),
                      "/cart/")


@pytest.mark.parametrize("target", ["checkout", "admin:index", "a\x01b"])
def test_log_in_with_a_next_that_is_no_address_is_not_a_500(client, django_user_model, target):
    """A next of one word (no slash, no dot) is a relative address to Django's check, but the shop's log-in handed
    it to redirect(), which reads such a word as a view's name: NoReverseMatch, a 500 after signing in (and a real
    view's name was followed). It is an address, or the account page."""
    django_user_model.objects.create_user("ada", "ada@example.com", PASSWORD)
    client.raise_request_exception = False
    response = client.post("/account/login/", {"username": "ada", "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response["Location"] != "/admin/"
