"""Pages kept in each process's memory: served without asking Redis, and exact through Redis's invalidation
messages — a change made through any connection, a read that raced a change, a lost connection."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django_redis import get_redis_connection

from catalog import services
from catalog.models import Product, Variant
from store.core import nearcache
from store.core.cache import VERSION_PREFIX, redis_version_key
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """A shopper with a session: their pages are filled in from the cached parts, the near cache under test here.
    (A stateless visitor's page is one more entry, served by SharedPageMiddleware: tests/core/test_shared_pages.py.)"""
    session = client.session
    session["seen"] = True
    session.save()
    return client


def mgets() -> int:
    """How many MGETs Redis has answered (page views read a page and its versions with one)."""
    return get_redis_connection("default").info("commandstats").get("cmdstat_mget", {}).get("calls", 0)


def view(client, path) -> tuple[bytes, int]:
    """(the page, how many MGETs serving it took)"""
    before = mgets()
    response = client.get(path)
    assert response.status_code == 200
    return response.content, mgets() - before


def bump_from_elsewhere(scope: str) -> None:
    """What bump() does, on a connection of its own, as another process would."""
    other = get_redis_connection("default").connection_pool.connection_class(
        **get_redis_connection("default").connection_pool.connection_kwargs)
    try:
        other.send_command("INCR", redis_version_key(scope))
        other.read_response()
        other.send_command("PING")
        other.read_response()
    finally:
        other.disconnect()


def test_a_page_seen_before_is_served_from_memory(client):
    import threading

    spec = make_product(price="20.00")
    path = f"/p/{spec.slug}/"
    first, asked = view(client, path)
    assert asked >= 1
    again, asked = view(client, path)
    assert asked == 0 and b"$20.00" in again
    assert again.split(b"csrfmiddlewaretoken")[0] == first.split(b"csrfmiddlewaretoken")[0]  # masked per view
    assert again != first
    # the daemon thread watches the connection's socket (redis-py's private attribute: an upgrade could move it)
    assert getattr(nearcache.tracker(VERSION_PREFIX)._conn, "_sock", None) is not None
    assert any(t.name == "nearcache-invalidations" and t.is_alive() for t in threading.enumerate())


def test_a_change_made_elsewhere_is_seen_on_the_next_view(client, on_commit):
    spec = make_product(price="20.00")
    path = f"/p/{spec.slug}/"
    view(client, path)
    assert view(client, path)[1] == 0
    Variant.objects.filter(sku=spec.variants[0].sku).update(price=Decimal("17.50"))  # no bump here
    assert b"$20.00" in view(client, path)[0]  # still the cached page: nothing said it changed
    bump_from_elsewhere(f"p:{spec.slug}")
    page, asked = view(client, path)
    assert asked >= 1 and b"$17.50" in page and b"$20.00" not in page


def test_a_price_edit_through_the_services_is_seen_at_once(client, on_commit):
    spec = make_product(price="20.00")
    path = f"/p/{spec.slug}/"
    view(client, path)
    assert view(client, path)[1] == 0
    with on_commit():
        Variant.objects.filter(sku=spec.variants[0].sku).update(price=Decimal("9.99"))
        services.product_refresh(product_ids=[Product.objects.get(slug=spec.slug).id])
    assert b"$9.99" in view(client, path)[0]


def test_a_read_that_raced_a_change_is_not_kept():
    local = nearcache.tracker(VERSION_PREFIX)
    epoch, value = local.lookup("page:x", ["gen:raced"])
    assert value is nearcache.MISSING and epoch is not None
    bump_from_elsewhere("raced")  # lands after our read of version 0 but before we keep it
    local.remember(epoch, "page:x", {"gen:raced": 0}, "built at version 0")
    assert local.lookup("page:x", ["gen:raced"])[1] is nearcache.MISSING
    # a change to something else does not cost the read its place
    epoch, _ = local.lookup("page:x", ["gen:raced"])
    bump_from_elsewhere("unrelated")
    local.remember(epoch, "page:x", {"gen:raced": 1}, "built at version 1")
    assert local.lookup("page:x", ["gen:raced"])[1] == "built at version 1"


def test_a_lost_invalidation_connection_forgets_everything(client):
    spec = make_product(price="20.00")
    path = f"/p/{spec.slug}/"
    view(client, path)
    assert view(client, path)[1] == 0
    redis = get_redis_connection("default")
    assert redis.client_kill_filter(_id=nearcache.tracker(VERSION_PREFIX).client_id) == 1
    Variant.objects.filter(sku=spec.variants[0].sku).update(price=Decimal("11.00"))
    redis.incr(redis_version_key(f"p:{spec.slug}"))  # a change this process can no longer hear of
    page, asked = view(client, path)
    assert asked >= 1 and b"$11.00" in page
    view(client, path)  # reconnected, and learning again
    assert view(client, path)[1] == 0


@override_settings(PAGECACHE_NEAR_SECONDS=0)
def test_versions_are_asked_again_after_near_seconds(client):
    path = f"/p/{make_product().slug}/"
    view(client, path)
    assert view(client, path)[1] == 1


@override_settings(PAGECACHE_NEAR_ENTRIES=2)
def test_memory_holds_at_most_near_entries_pages(client):
    paths = [f"/p/{make_product().slug}/" for _ in range(3)]
    for path in paths:
        view(client, path)
    assert view(client, paths[2])[1] == 0
    assert view(client, paths[0])[1] == 1  # the least recently used went first


@override_settings(PAGECACHE_NEAR_ENTRIES=2)
def test_the_counters_kept_are_bounded_too():
    local = nearcache.tracker(VERSION_PREFIX)
    for i in range(50):  # a crawler: every page once, each with counters of its own
        epoch, _ = local.lookup(f"page:{i}", [f"gen:p{i}"])
        local.remember(epoch, f"page:{i}", {f"gen:p{i}": 0}, "page")
    assert len(local._versions) <= nearcache.VERSIONS_PER_ENTRY * 2


@override_settings(PAGECACHE_NEAR_ENTRIES=0)
def test_switched_off_every_view_asks_redis(client):
    path = f"/p/{make_product().slug}/"
    view(client, path)
    assert view(client, path)[1] == 1


def test_a_forked_process_follows_invalidations_on_a_connection_of_its_own():
    import os

    local = nearcache.tracker(VERSION_PREFIX)
    local.lookup("page:x", ["gen:fork"])  # connected in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its tracker's connection id, then leave without running pytest's teardown
        try:
            child = nearcache.tracker(VERSION_PREFIX)
            child.lookup("page:x", ["gen:fork"])
            os.write(write, str(child.client_id if child is not local else "same").encode())
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 100).decode()
    os.waitpid(pid, 0)
    assert answer.isdigit() and int(answer) != local.client_id


@pytest.mark.django_db(transaction=True)
def test_readers_on_many_threads_never_see_a_price_older_than_the_last_finished_edit():
    import re
    import threading

    from django.db import connections, transaction
    from django.test import Client

    spec = make_product(price="10.00")
    path = f"/p/{spec.slug}/"
    product_id = Product.objects.get(slug=spec.slug).id
    finished = {"price": Decimal("10.00")}  # prices only rise, so an older one is a stale page
    stop, stale, views, seen = threading.Event(), [], [0], threading.Condition()

    def reader():
        client = Client()
        try:
            while not stop.is_set():
                floor = finished["price"]  # an edit finished before this view started
                html = client.get(path).content
                shown = Decimal(re.search(rb'data-price aria-live="polite">\$([0-9.]+)<', html).group(1).decode())
                if shown < floor:
                    stale.append((floor, shown))
                with seen:
                    views[0] += 1
                    seen.notify_all()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for i in range(1, 31):
            price = Decimal("10.00") + i
            with transaction.atomic():  # the bump runs on commit, before atomic() returns
                Variant.objects.filter(sku=spec.variants[0].sku).update(price=price)
                services.product_refresh(product_ids=[product_id])
            finished["price"] = price
            with seen:  # let the readers view each price a few times
                assert seen.wait_for(lambda i=i: views[0] >= 4 * i, timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not stale


def test_what_a_cart_shows_is_read_from_memory_and_follows_changes_while_a_checkout_asks_redis(on_commit):
    """versioned_many(near=True): the catalogue's prices and inventory's availability for the cart, from this
    process's memory while nothing changed, exact after a change from anywhere; near=False (a checkout's prices)
    always asks Redis."""
    from inventory import services as inventory_services

    sku = make_product(price="20.00", stock=5).variants[0].sku
    services.variant_prices(skus=[sku], near=True)
    inventory_services.stock_availability_cached(skus=[sku])
    before = mgets()
    assert services.variant_prices(skus=[sku], near=True)[sku].price == Decimal("20.00")
    assert inventory_services.stock_availability_cached(skus=[sku]) == {sku: 5}
    assert mgets() == before  # both from memory
    services.variant_prices(skus=[sku])
    assert mgets() > before  # the checkout's read: Redis every time
    Variant.objects.filter(sku=sku).update(price=Decimal("12.00"))
    bump_from_elsewhere(services.variant_scope(sku))
    assert services.variant_prices(skus=[sku], near=True)[sku].price == Decimal("12.00")
    with on_commit():
        inventory_services.stock_adjust(sku=sku, delta=-2, reason="count")
    assert inventory_services.stock_availability_cached(skus=[sku]) == {sku: 3}
