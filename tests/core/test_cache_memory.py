"""Redis memory is bounded without risking what must be kept: pages and catalogue data live in a cache Redis that
evicts its least recently used entries at its maxmemory; carts, sessions and the cache's version counters live in
the Redis that evicts nothing. Real servers (the embedded ones, started for this test), real eviction."""

import shutil
import uuid

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import caches
from django.test import Client
from django_redis import get_redis_connection

from cart import services as cart_services
from store.core import cache as versioned_cache
from store.embedded import CACHE_REDIS, REDIS, EmbeddedServices
from tests.factories import make_product

pytestmark = pytest.mark.django_db

PAGE = 20_000  # bytes an entry of the flood holds: 4 MB of cache is full after ~200


@pytest.fixture
def two_redis(settings):
    """The shop's two Redis servers as the launcher starts them, the cache one tiny; the caches pointed at them."""
    folder = settings.DATA_DIR / "cache-memory-tests" / uuid.uuid4().hex[:8]
    services = EmbeddedServices(folder, cache_maxmemory="4mb")
    urls = services.acquire(servers=(REDIS, CACHE_REDIS))
    try:
        settings.CACHES = {
            "default": {**settings.CACHES["default"], "LOCATION": urls.redis_url},
            settings.CACHE_ALIAS: {**settings.CACHES[settings.CACHE_ALIAS], "LOCATION": urls.cache_redis_url},
        }
        yield get_redis_connection("default"), get_redis_connection(settings.CACHE_ALIAS)
    finally:
        services.release()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(services._temp_dir(), ignore_errors=True)


def test_each_redis_has_the_policy_of_what_it_holds(two_redis):
    kept, cache = two_redis
    assert kept.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert int(cache.config_get("maxmemory")["maxmemory"]) == 4 * 1024 * 1024


def test_a_flood_of_cached_entries_cannot_evict_a_cart_a_session_or_a_version(two_redis):
    kept, cache = two_redis
    spec = make_product(stock=[5])
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku=spec.variants[0].sku, quantity=2)
    session = SessionStore()
    session["cart_token"] = token
    session.save()
    versioned_cache.bump(["flood"])
    assert caches["default"].get(session.cache_key) is not None and kept.keys("*cart*")

    shopper = Client()  # real pages too: one per search, each a cached entry of its own
    for i in range(20):
        assert shopper.get(f"/c/gear/?q=thing{i}").status_code == 200
    evicted = 0
    for i in range(2000):  # until the cache has evicted plenty (~10x its size at most)
        versioned_cache.versioned(f"flood:{i}", ("flood",), lambda: "x" * PAGE, timeout=600)
        if i % 50 == 0:
            evicted = cache.info("stats")["evicted_keys"]
            if evicted >= 200:
                break
    assert evicted >= 200, "the cache Redis evicted (a flood really filled it)"
    assert int(cache.info("memory")["used_memory"]) <= 4 * 1024 * 1024 * 1.1

    assert cart_services.cart_line_count(token=token) == 1
    assert caches["default"].get(session.cache_key) is not None
    assert kept.get(versioned_cache.redis_version_key("flood")) == b"1", "a counter is never evicted"
    assert kept.info("stats")["evicted_keys"] == 0
    assert not cache.keys("*cart:*") and not cache.keys("*gen:*") and not cache.keys("*session*")
    # and the cache keeps working: an entry evicted is just built again
    assert versioned_cache.versioned("flood:0", ("flood",), lambda: "rebuilt", timeout=600) in ("x" * PAGE, "rebuilt")
