"""A whole-page-cached page is shared by every shopper, but each sees their own badge, greeting and messages."""

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpResponse
from django.test import Client

from cart import services as cart_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def with_cart(client, lines: int):
    spec = make_product(stock=[5] * lines)
    cart = cart_services.cart_create()
    for variant in spec.variants:
        cart_services.cart_add(token=cart.token, sku=variant.sku, quantity=1)
    session = client.session
    session["cart_token"] = cart.token
    session.save()
    return client


def badge(html: str) -> str:
    return html.split("data-cart-count>", 1)[1].split("<", 1)[0]


def test_each_shopper_sees_their_own_cart_badge_on_one_cached_page(client):
    spec = make_product(name="Shared Page")
    path = f"/p/{spec.slug}/"
    assert badge(client.get(path).content.decode()) == "0"  # fills the cache
    other = with_cart(Client(), 3)
    assert badge(other.get(path).content.decode()) == "3"
    assert badge(client.get(path).content.decode()) == "0"


def test_greeting_is_for_the_signed_in_shopper_only(client, django_user_model):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    user = django_user_model.objects.create_user("ada<b>", "ada@example.com", "pw-for-tests-only")
    signed_in = Client()
    signed_in.force_login(user)
    assert "Hi, ada&lt;b&gt;" in signed_in.get(path).content.decode()
    assert "Hi, " not in client.get(path).content.decode()


def test_messages_are_shown_once_and_not_cached_into_the_page(client, rf):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    client.get(path)
    storage = CookieStorage(rf.get(path))  # the cookie a redirect after "add to cart" would carry
    storage.add(constants.SUCCESS, "Added to your cart")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    assert "Added to your cart" in client.get(path).content.decode()
    assert "Added to your cart" not in client.get(path).content.decode()


def test_a_stray_separator_in_shop_data_stays_text(client):
    spec = make_product(name="Odd \x1e name \x1e here")
    for _ in range(2):  # built, then from the cache
        html = client.get(f"/p/{spec.slug}/").content.decode()
        assert "Odd \x1e name \x1e here" in html and badge(html) == "0"
        assert 'name="csrfmiddlewaretoken" value="' in html and "\x1ecsrf\x1e" not in html
