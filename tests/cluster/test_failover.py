"""A master of the cluster dies. With a replica, the replica takes over and every cart on it is still there (and
the old master, restarted, rejoins as the new one's replica); without, the carts on that node answer 503
cart_unavailable until it is back (never a 500, never an order), browsing goes on, and the restarted node brings
its carts back from its append-only file. docs/design.md, Redis Cluster, says what a shopper sees."""

import json

import pytest
from django.test import Client

from cart import redis_store
from cart import services as cart_services
from orders.models import Order
from tests.factories import make_product
from tests.orders.helpers import body, checkout
from tests.redis_cluster import RedisCluster, wait_for

from .conftest import pointed_at

pytestmark = pytest.mark.django_db


def _in_sync(cluster: RedisCluster, master) -> bool:
    """Every replica of ``master`` has every write it acknowledged (replication is asynchronous: a write in the last
    moment before a crash can be lost with the master, as Redis documents)."""
    offset = master.info("replication")["master_repl_offset"]
    replicas = [n for n in cluster.live() if n is not master and n.info("replication").get("master_port") ==
                master.port]
    return bool(replicas) and all(n.info("replication")["slave_repl_offset"] >= offset for n in replicas)


def _a_cart(quantity: int = 2) -> tuple[str, str]:
    sku = make_product(name="Trail Lamp", price="30.00", stock=10).variants[0].sku
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku=sku, quantity=quantity)
    return token, sku


def test_a_master_that_dies_loses_no_cart_its_replica_takes_over(redis_cluster):
    token, sku = _a_cart()
    old = redis_cluster.master_of(redis_store.cart_key(token))
    wait_for("the replica in sync", lambda: _in_sync(redis_cluster, old))
    redis_cluster.kill(old)
    try:
        redis_cluster.wait_master_changed(redis_store.cart_key(token), old)
        assert cart_services.cart_quantities(token=token) == {sku: 2}
        cart_services.cart_add(token=token, sku=sku, quantity=1)  # and it takes writes on its new master
        assert cart_services.cart_quantities(token=token) == {sku: 3}
    finally:
        redis_cluster.restart(old)
        redis_cluster.wait_healthy()
    assert old.info("replication")["role"] == "slave"  # back as the new master's replica
    assert cart_services.cart_quantities(token=token) == {sku: 3}


@pytest.fixture(scope="module")
def without_replicas():
    cluster = RedisCluster(masters=3, replicas=0).start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def on_cluster(request, settings):
    """This module's second test uses a cluster of its own, without replicas."""
    name = "without_replicas" if "without_replicas" in request.fixturenames else "redis_cluster"
    yield from pointed_at(request.getfixturevalue(name), settings)


def test_without_a_replica_a_dead_node_carts_answer_503_until_it_is_back(without_replicas, client):
    token, sku = _a_cart()
    session = client.session
    session[cart_services.SESSION_KEY] = token  # the cart page's shopper
    session.save()
    node = without_replicas.master_of(redis_store.cart_key(token))
    without_replicas.kill(node)
    try:
        answer = client.get(f"/api/v1/carts/{token}/")
        assert answer.status_code == 503 and answer.json()["code"] == "cart_unavailable"
        assert answer["Retry-After"]
        placed = checkout(client, body(token), key="during-the-outage")
        assert placed.status_code == 503 and placed.json()["code"] == "cart_unavailable"
        assert Order.objects.count() == 0
        assert Client().get("/").status_code == 200  # browsing goes on (the cache's errors are misses)
        page = client.get("/cart/")
        assert page.status_code == 503 and b"try again" in page.content.lower()  # the cart page says so too
    finally:
        without_replicas.restart(node)
        without_replicas.wait_healthy()
    assert cart_services.cart_quantities(token=token) == {sku: 2}  # from its append-only file
    placed = checkout(client, body(token), key="after-the-outage")
    assert placed.status_code == 201, json.dumps(placed.json())
