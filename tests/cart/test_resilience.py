"""Concurrent clicks lose nothing; rate limits answer 429; a Redis outage costs the cart, not the shop."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.test import Client, override_settings

from cart import services
from tests.factories import make_product
from tests.ports import dead_redis_caches

DEAD_REDIS = dead_redis_caches(IGNORE_EXCEPTIONS=True)  # a port this run holds, on which nothing listens


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_adding_to_one_cart_lose_nothing():
    spec = make_product(stock=[99, 99, 99, 99])
    token = services.cart_create().token
    barrier = threading.Barrier(20)

    def click(i):
        barrier.wait(timeout=30)
        try:
            return services.cart_add(token=token, sku=spec.variants[i % 4].sku, quantity=1 + i % 3)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(click, range(20)))
    expected = {}
    for i in range(20):
        expected[spec.variants[i % 4].sku] = expected.get(spec.variants[i % 4].sku, 0) + 1 + i % 3
    assert {line.sku: line.quantity for line in services.cart_get(token=token).lines} == expected


@pytest.mark.django_db
@override_settings(RATE_LIMITS={"cart": "3/m"})
def test_cart_writes_over_the_limit_get_429_with_retry_after(client, rate_clock):
    sku = make_product(stock=50).variants[0].sku
    token = client.post("/api/v1/carts/").json()["token"]
    statuses = [client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": sku, "quantity": 1}),
                            content_type="application/json") for _ in range(3)]
    assert [r.status_code for r in statuses] == [201, 200, 429]
    assert statuses[-1].json()["code"] == "rate_limited"
    assert statuses[-1]["Retry-After"] == "30"  # the still clock is 30.5 s into its minute
    page = client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    assert page.status_code == 429 and b"That was a lot of clicks" in page.content
    other = Client(REMOTE_ADDR="10.9.9.9")  # another client has its own allowance
    assert other.post("/api/v1/carts/").status_code == 201
    rate_clock.now += 30  # the next minute: a new allowance
    assert client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": sku, "quantity": 1}),
                       content_type="application/json").status_code == 200


@pytest.mark.django_db
def test_rate_limits_off_means_off(client, settings):
    settings.RATE_LIMITS = {}
    for _ in range(30):
        assert client.post("/api/v1/carts/").status_code == 201


@pytest.mark.django_db
def test_with_redis_down_the_cart_answers_503_and_the_shop_keeps_serving(client):
    spec = make_product(name="Still Browsable")
    client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"})  # a cart, while Redis is up
    with override_settings(CACHES=DEAD_REDIS):
        from django_redis.pool import ConnectionFactory  # noqa: F401 (new settings, new connection pool)

        api = client.post("/api/v1/carts/")
        assert api.status_code == 503
        assert api.json()["code"] == "cart_unavailable" and api["Retry-After"]
        page = client.get("/cart/")
        assert page.status_code == 503 and b"briefly unavailable" in page.content
        assert client.post("/cart/add/", {"sku": spec.variants[0].sku, "quantity": "1"}).status_code == 503
        assert client.get(f"/p/{spec.slug}/").status_code == 200
        assert b"Still Browsable" in client.get("/").content
        assert client.get("/api/v1/products/").status_code == 200
        assert client.get("/healthz").status_code == 503
        with override_settings(RATE_LIMITS={"global": "1/m", "cart": "1/m"}):  # counters unreachable: fail open
            assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
