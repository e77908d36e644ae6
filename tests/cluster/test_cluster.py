"""What a Redis Cluster changes, checked on the real one (tests/cluster/conftest.py): the shop's raw client is a
cluster client, carts spread over every master by their tokens, the cluster refuses a script across slots (so the
shop's own scripts, which pass here, touch one slot each), and sessions, versioned entries read many at once, and
whole pages live on it too."""

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import caches
from django.test import Client
from django_redis import get_redis_connection
from redis.cluster import RedisCluster as ClusterClient
from redis.exceptions import RedisClusterException, ResponseError

from cart import redis_store
from cart import services as cart_services
from inventory import gate
from store.core import cache as versioned_cache
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_carts_spread_over_every_master_by_their_tokens(redis_cluster):
    assert isinstance(get_redis_connection("default"), ClusterClient)
    tokens = [cart_services.cart_create().token for _ in range(30)]
    assert {redis_cluster.master_of(redis_store.cart_key(token)).port for token in tokens} == {
        node.port for node in redis_cluster.live() if node.info("replication")["role"] == "master"}


def test_a_script_on_keys_of_two_slots_is_refused():
    redis = get_redis_connection("default")
    first, second = redis_store.cart_key("a"), redis_store.cart_key("b")
    assert redis.keyslot(first) != redis.keyslot(second)
    with pytest.raises((RedisClusterException, ResponseError), match=r"(?i)slot"):
        redis.register_script("return redis.call('GET', KEYS[1])")(keys=[first, second])


def test_the_gates_keys_share_one_slot():
    redis = get_redis_connection("default")
    keys = [gate.BUILT, gate.SALES, *(gate._key(sku) for sku in ("HOT", "COLD", "sales", "{x}"))]
    assert len({redis.keyslot(key) for key in keys}) == 1


def test_sessions_and_versioned_entries_live_on_the_cluster():
    session = SessionStore()
    session["cart_token"] = "a token"
    session.save()
    assert caches["default"].get(session.cache_key) is not None
    assert SessionStore(session_key=session.session_key)["cart_token"] == "a token"

    redis = get_redis_connection("default")
    scopes = [f"scope-{n}" for n in range(6)]
    assert len({redis.keyslot(versioned_cache.redis_version_key(scope)) for scope in scopes}) > 1
    builds = []

    def build(keys):
        builds.append(sorted(keys))
        return {key: f"{key} v{len(builds)}" for key in keys}

    entries = {"a": tuple(scopes[:3]), "b": tuple(scopes[3:])}
    assert versioned_cache.versioned_many(entries, build, timeout=60) == {"a": "a v1", "b": "b v1"}
    assert versioned_cache.versioned_many(entries, build, timeout=60) == {"a": "a v1", "b": "b v1"}  # one MGET a slot
    versioned_cache.bump([scopes[4]])
    assert versioned_cache.versioned_many(entries, build, timeout=60) == {"a": "a v1", "b": "b v2"}
    assert builds == [["a", "b"], ["b"]]


def test_pages_are_cached_and_stay_exact_on_the_cluster(settings):
    settings.PAGECACHE_ENABLED = True
    spec = make_product(name="Ridge Tent", price="120.00")
    shopper = Client()
    first = shopper.get(f"/p/{spec.slug}/")
    assert first.status_code == 200 and b"Ridge Tent" in first.content
    assert shopper.get(f"/p/{spec.slug}/").content == first.content
    token = shopper.post("/api/v1/carts/").json()["token"]
    added = shopper.post(f"/api/v1/carts/{token}/lines/", {"sku": spec.variants[0].sku, "quantity": 2},
                         content_type="application/json")
    assert added.status_code == 201 and added.json()["subtotal"] == "240.00"
