"""Rate limits per client and per account, and the shop-wide cap that sheds load with 503 + Retry-After. The
limits' clock stands still in each test's thread (rate_clock, tests/conftest.py): a test's requests never straddle
the end of a window."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django_redis import get_redis_connection

from store.settings import parse_rate_limits
from tests.factories import make_product

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("rate_clock")]


def add(client, token, sku):
    return client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": sku, "quantity": 1}),
                       content_type="application/json")


def signed_in(django_user_model, email, address):
    user = django_user_model.objects.create_user(username=email, email=email, password="pw-123-long")
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def test_one_account_on_many_addresses_is_limited_as_an_account(settings, django_user_model):
    settings.RATE_LIMITS = {"cart": "100/m", "cart_account": "3/m"}
    sku = make_product(stock=50).variants[0].sku
    user = django_user_model.objects.create_user(username="bot@example.com", password="pw-123-long")
    statuses = []
    for n in range(4):
        client = Client(REMOTE_ADDR=f"10.0.0.{n}")  # a new address each time, the same account
        client.force_login(user)
        statuses.append(client.post("/api/v1/carts/").status_code)
    assert statuses == [201, 201, 201, 429]
    assert Client(REMOTE_ADDR="10.0.0.9").post("/api/v1/carts/").status_code == 201  # a guest is not that account
    page = client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    assert page.status_code == 429 and page["Retry-After"] == "30"  # the still clock is 30.5 s into its minute


def test_many_accounts_on_one_address_are_limited_as_a_client(settings, django_user_model):
    settings.RATE_LIMITS = {"cart": "2/m", "cart_account": "100/m"}
    clients = [signed_in(django_user_model, f"u{n}@example.com", "10.1.1.1") for n in range(3)]
    assert [c.post("/api/v1/carts/").status_code for c in clients] == [201, 201, 429]
    assert signed_in(django_user_model, "elsewhere@example.com", "10.1.1.2").post("/api/v1/carts/").status_code == 201


def test_checkout_is_limited_per_account_too(settings, django_user_model):
    settings.RATE_LIMITS = {"checkout": "100/m", "checkout_account": "1/m"}
    client = signed_in(django_user_model, "buyer@example.com", "10.2.2.2")
    answers = [client.post("/api/v1/checkout/", "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"k{n}")
               for n in range(2)]
    assert answers[0].status_code == 400  # counted, then refused for its empty body
    assert answers[1].status_code == 429 and answers[1].json()["code"] == "rate_limited"
    assert answers[1]["Retry-After"] == "30"


def test_the_global_cap_sheds_load_with_503_and_retry_after(settings, rate_clock):
    settings.RATE_LIMITS = {"global": "3/m"}
    rate_clock.now = 60 * 1_000_000 + 45.5  # 14.5 s before the window ends
    make_product(name="Cap Test")
    client = Client()
    assert [client.get("/").status_code for _ in range(2)] == [200, 200]
    assert client.get("/api/v1/products/").status_code == 200  # the third request of the window, any path
    page = client.get("/")
    assert page.status_code == 503 and page["Retry-After"] == "15"
    assert b"very busy" in page.content and b'http-equiv="refresh"' in page.content
    api = Client().get("/api/v1/products/")  # every client: the cap is the shop's
    assert api.status_code == 503 and api.json()["code"] == "overloaded" and api["Retry-After"] == "15"
    assert client.get("/healthz").status_code == 200  # monitoring still sees the shop
    rate_clock.now += 15  # the next window
    assert client.get("/").status_code == 200


def test_the_global_cap_is_off_unless_configured(settings):
    settings.RATE_LIMITS = parse_rate_limits(None)
    assert "global" not in settings.RATE_LIMITS
    client = Client()
    assert all(client.get("/api/v1/categories/").status_code == 200 for _ in range(5))
    assert get_redis_connection("default").keys("*load:*") == []  # nothing was even counted


def test_rate_limit_settings_parse():
    sign_in = {"login": "10/m", "login_account": "5/m", "signup": "5/m", "signup_email": "3/h", "password_reset": "5/m",
               "password_reset_email": "3/h", "promo": "10/m", "promo_account": "10/m", "reviews": "60/m",
               "reviews_account": "30/m", "email_change": "5/m", "email_change_account": "5/h"}
    assert parse_rate_limits("cart=60/m,checkout=10/m,global=1500/s") == {
        "cart": "60/m", "checkout": "10/m", "cart_account": "120/m", "checkout_account": "10/m", "global": "1500/s",
        **sign_in}
    assert parse_rate_limits("off") == {}
    assert parse_rate_limits("cart=off,checkout_account=off,global=10/s") == {
        "checkout": "20/m", "cart_account": "120/m", "global": "10/s", **sign_in}
    assert parse_rate_limits("login=off,login_account=30/h")["login_account"] == "30/h"
    assert "login" not in parse_rate_limits("login=off")
    for bad in ("cart=lots", "carts=5/m", "global=0/s", "checkout=5/week"):
        with pytest.raises(ImproperlyConfigured):
            parse_rate_limits(bad)


def test_behind_a_proxy_clients_are_told_apart_by_the_header_it_sets(settings):
    settings.RATE_LIMITS = {"cart": "1/m"}
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    proxy = Client(REMOTE_ADDR="127.0.0.1")  # every request arrives from the proxy
    first = proxy.post("/api/v1/carts/", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert first.status_code == 201
    # A client cannot escape its limit by sending its own header first: the proxy's entry is the last one.
    assert proxy.post("/api/v1/carts/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7").status_code == 429
    assert proxy.post("/api/v1/carts/", HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 201


def test_the_limits_clock_held_still_in_a_test_is_that_threads_alone(rate_clock):
    import threading
    import time

    from store.core import ratelimit

    elsewhere = []
    thread = threading.Thread(target=lambda: elsewhere.append(ratelimit.clock.get()))
    thread.start()
    thread.join()
    assert ratelimit.clock.get() is rate_clock
    assert elsewhere == [time.time]  # another thread (a live server's, a race's) counts by the real clock
