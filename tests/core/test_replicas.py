"""Read replicas, on a real pair: a primary and a streaming replica started from the embedded PostgreSQL binaries
(pg_basebackup -R) for this module, and the shop served by gunicorn in a process of its own with
DATABASE_REPLICA_URLS set (under pytest itself replicas are test mirrors, routed nothing: settings.py).

Which server answered a read is told by data the two do not share: with the replica's replay paused, a change made
on the primary (a product's slug, a SKU's stock) is seen only by reads that went to the primary."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.conf import settings

from store.core.replicas import CHECK_S, DOWN_S, LAG_SQL
from store.embedded import POSTGRES, PRIMARY_PORT, REPLICA_FIRST_PORT, EmbeddedServices

pytestmark = pytest.mark.slow
REPLICA_PORT = REPLICA_FIRST_PORT


def _deadline(seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        yield
        time.sleep(0.05)  # polling, with a deadline: what it waits for happens in other processes


class Pair:
    """A primary and its streaming replica, in a data folder of their own."""

    def __init__(self, services: EmbeddedServices):
        self.services = services

    def sql(self, query: str, params=(), *, port: int = PRIMARY_PORT):
        with psycopg.connect(host=str(self.services.run_dir), port=port, user="postgres", dbname="store",
                             autocommit=True, connect_timeout=5,
                             options=f"-c search_path={settings.DATABASE_SEARCH_PATH.replace(' ', '')}") as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else None

    def on_replica(self, query: str, params=()):
        return self.sql(query, params, port=REPLICA_PORT)

    def replayed(self, query: str, params=(), seconds: float = 20):
        """Wait until the replica sees what ``query`` looks for (replay resumed)."""
        for _ in _deadline(seconds):
            if self.on_replica(query, params):
                return
        raise AssertionError(f"the replica never saw {query!r} {params!r}")

    def replicated(self) -> None:
        """A transaction of the primary's, replayed: until the replica has replayed one it cannot say how far
        behind it is (LAG_SQL counts it as too far)."""
        mark = uuid.uuid4().hex
        self.sql("INSERT INTO public.replica_mark VALUES (%s)", (mark,))
        self.replayed("SELECT 1 FROM public.replica_mark WHERE mark = %s", (mark,))

    @contextlib.contextmanager
    def replay_paused(self):
        self.on_replica("SELECT pg_wal_replay_pause()")
        try:
            yield
        finally:
            self.on_replica("SELECT pg_wal_replay_resume()")

    def a_product(self) -> tuple[int, str, str]:
        """(id, slug, a SKU) of an active product with a variant."""
        return self.sql("SELECT p.id, p.slug, v.sku FROM catalog_product p JOIN catalog_variant v "
                        "ON v.product_id = p.id WHERE p.is_active ORDER BY p.id, v.id LIMIT 1")[0]

    def rename(self, product_id: int) -> str:
        """Give the product a new slug, on the primary; returns it."""
        slug = f"moved-{uuid.uuid4().hex[:10]}"
        self.sql("UPDATE catalog_product SET slug = %s WHERE id = %s", (slug, product_id))
        return slug


def _shop_environment(database_url: str, **extra: str) -> dict:
    """The shop outside pytest (so replicas are routed), on the suite's own Redis databases."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTEST_VERSION", "DATABASE_REPLICA_URLS", "PYTEST_CURRENT_TEST")}
    env.update(DJANGO_SETTINGS_MODULE="store.settings", DATABASE_URL=database_url, DEBUG="0", PAGE_CACHE="0",
               REDIS_URL=settings.CACHES["default"]["LOCATION"], CACHE_REDIS_URL=settings.CACHES["default"]["LOCATION"],
               CELERY_BROKER_URL=settings.CELERY_BROKER_URL, RATE_LIMITS="off", SECRET_KEY="test-only-secret-key",
               STORE_TESTING="1", **extra)
    return env


@pytest.fixture(scope="module")
def pair():
    folder = settings.DATA_DIR / "replica-tests" / uuid.uuid4().hex[:8]
    services = EmbeddedServices(folder)
    try:
        services.acquire(servers=(POSTGRES,))
        env = _shop_environment(services.urls.database_url)
        for command in (["migrate", "-v", "0"], ["seed_catalog", "--products", "8", "--no-images"]):
            subprocess.run([sys.executable, "manage.py", *command], cwd=settings.BASE_DIR, env=env, check=True,
                           timeout=300, capture_output=True)
        started = Pair(services)
        started.sql("CREATE TABLE public.replica_mark (mark text)")  # for replicated()
        services.start_replica(1)
        started.replicated()
        yield started
    finally:
        services.stop_replica(1, mode="immediate")
        services.release()
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(services._temp_dir(), ignore_errors=True)


class Shop:
    """gunicorn serving the shop on the pair (one worker, four threads)."""

    def __init__(self, pair: Pair, **env: str):
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop()) its stderr: a pipe could fill
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        environment = _shop_environment(pair.services.urls.database_url,
                                        DATABASE_REPLICA_URLS=pair.services.replica_url(1), **env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "store.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "4", "--no-control-socket"],
            cwd=settings.BASE_DIR, env=environment, stdout=subprocess.DEVNULL, stderr=self.log)
        for _ in _deadline(60):
            with contextlib.suppress(requests.ConnectionError):
                if self.get("/healthz").status_code == 200:
                    return
            assert self.proc.poll() is None, self.errors()
        raise AssertionError(f"the shop did not start: {self.errors()}")

    def errors(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url(path), timeout=30, allow_redirects=False, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url(path), timeout=30, allow_redirects=False, **kwargs)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def shop(pair):
    """The shop with a lag bound no test reaches: a replica whose replay is paused still serves."""
    served = Shop(pair, REPLICA_MAX_LAG_MS="600000")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def strict_shop(pair):
    """The shop with a tight lag bound (200 ms)."""
    served = Shop(pair, REPLICA_MAX_LAG_MS="200")
    yield served
    served.stop()


def _available(detail: dict, sku: str) -> int:
    return next(v["available"] for v in detail["variants"] if v["sku"] == sku)


def test_catalogue_and_review_reads_go_to_the_replica_and_stock_reads_to_the_primary(pair, shop):
    product_id, slug, sku = pair.a_product()
    with pair.replay_paused():
        moved = pair.rename(product_id)
        pair.sql("UPDATE inventory_stocklevel SET on_hand = on_hand + 7 WHERE sku = %s", (sku,))
        on_hand, reserved = pair.sql("SELECT on_hand, reserved FROM inventory_stocklevel WHERE sku = %s", (sku,))[0]
        assert not pair.on_replica("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))

        # the product as the replica has it (its old address), with the stock as the primary has it
        old = shop.get(f"/api/v1/products/{slug}/")
        assert old.status_code == 200, old.text
        assert _available(old.json(), sku) == on_hand - reserved
        assert shop.get(f"/api/v1/products/{moved}/").status_code == 404  # not on the replica yet
        assert shop.get(f"/p/{slug}/").status_code == 200  # the page too
        assert moved not in shop.get(f"/api/v1/products/?q={slug.split('-')[0]}").text  # a search likewise

        # reviews are browsing's too: one written on the primary is not shown yet
        pair.sql("INSERT INTO reviews_review (product_slug, user_id, author_name, sku, variant_name, rating, title, "
                 "body, status, held_because, moderation_reason, helpful_count, unhelpful_count, flag_count, "
                 "created_at, updated_at) VALUES (%s, 1, 'A buyer', %s, '', 5, 'Good', 'Good.', 'published', '', '', "
                 "0, 0, 0, now(), now())", (slug, sku))
        assert shop.get(f"/api/v1/products/{slug}/reviews/").json()["results"] == []
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))
    assert len(shop.get(f"/api/v1/products/{slug}/reviews/").json()["results"]) == 1  # replayed: now it is
    pair.sql("DELETE FROM reviews_review WHERE product_slug = %s", (slug,))


def test_a_visitor_who_wrote_reads_the_primary_for_a_moment(pair, shop):
    # three products moved, one per reader: what one read finds is cached (under its address) for the next
    ids = [row[0] for row in pair.sql("SELECT id FROM catalog_product WHERE is_active ORDER BY id LIMIT 3")]
    with pair.replay_paused():
        mine, others, forger = (pair.rename(product_id) for product_id in ids)
        wrote = shop.post("/api/v1/carts/", json={})  # any write: this one makes a cart
        assert wrote.status_code == 201, wrote.text
        cookie = wrote.cookies.get("store_wrote")
        assert cookie, wrote.headers

        assert shop.get(f"/api/v1/products/{mine}/", cookies={"store_wrote": cookie}).status_code == 200
        assert shop.get(f"/api/v1/products/{others}/").status_code == 404  # anyone else: the replica
        forged = {"store_wrote": "1"}  # not signed by the shop: the replica, like anyone
        assert shop.get(f"/api/v1/products/{forger}/", cookies=forged).status_code == 404
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (forger,))


def test_a_replica_lagging_past_the_bound_is_left_for_the_primary(pair, strict_shop):
    product_id, _, _ = pair.a_product()
    with pair.replay_paused():
        moved = pair.rename(product_id)
        # its lag only grows while paused: past 200 ms plus the CHECK_S (250 ms) a reading is trusted, the shop
        # has seen it too far behind, and reads the primary, which has the new address
        for _ in _deadline(20):
            if float(pair.on_replica(LAG_SQL)[0][0]) > 200 + 1000 * CHECK_S + 100:
                break
        assert strict_shop.get(f"/api/v1/products/{moved}/").status_code == 200
        assert not pair.on_replica("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,)), "still paused"
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))


def test_reads_go_on_from_the_primary_when_the_replica_dies(pair, shop):
    product_id, slug, _ = pair.a_product()
    assert shop.get(f"/api/v1/products/{slug}/").status_code == 200  # its connection to the replica is open
    pair.services.stop_replica(1, mode="immediate")
    try:
        moved = pair.rename(product_id)
        answers = [shop.get(path).status_code
                   for path in (f"/api/v1/products/{moved}/", f"/p/{moved}/", "/", "/api/v1/products/?q=tent") * 3]
        assert answers == [200] * len(answers)
    finally:
        pair.services.start_replica(1)
        pair.replicated()
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))
    newest = pair.rename(product_id)
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (newest,))
    assert shop.get(f"/api/v1/products/{newest}/").status_code == 200


CHECKOUT = {"email": "shopper@example.com", "payment": {"method": "card", "card_number": "4242424242424242"},
            "shipping_address": {"name": "A Shopper", "line1": "1 Main Street", "city": "Amsterdam",
                                 "postal_code": "1012 AB", "country": "NL"}}


def test_browsing_goes_on_from_the_replica_while_the_primary_is_down(pair, shop):
    """The seed's first non-functional requirement: stop the primary under load; no browsing request fails, what
    needs the primary answers 503 with Retry-After, and when it is back everything works again, no restart."""
    sku = pair.a_product()[2]
    other_sku = pair.sql("SELECT sku FROM catalog_variant ORDER BY id DESC LIMIT 1")[0][0]
    cart = shop.post("/api/v1/carts/", json={}).json()["token"]
    assert shop.post(f"/api/v1/carts/{cart}/lines/", json={"sku": sku, "quantity": 1}).status_code == 201
    staff = requests.Session()  # the admin's sign-in form, fetched while the primary is up
    form = staff.get(shop.url("/admin/login/"), timeout=30)
    token = form.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    slugs = [row[0] for row in pair.sql("SELECT slug FROM catalog_product WHERE is_active ORDER BY id")]
    words = ["tent", "jacket", "boots", "lamp", "stove", "pack", "bag", "mat", "linen", "wool"]
    # product pages (their first view of each reads stock, the primary's, as well), listings, searches: a search
    # of its own every time, so the database is read under way, not only the cache
    browsing = ["/", "/api/v1/categories/", *(f"/p/{s}/" for s in slugs), *(f"/api/v1/products/{s}/" for s in slugs),
                *(f"/search/?q={w}" for w in words), "/api/v1/products/?q={n}", "/search/?q=x{n}"]
    failures, answered, stop, counting = [], [0], threading.Event(), threading.Lock()

    def browse(offset: int) -> None:
        turn = offset
        while not stop.is_set():
            path = browsing[turn % len(browsing)].replace("{n}", f"{uuid.uuid4().hex[:6]}")
            turn += 1
            try:
                status = shop.get(path).status_code
            except requests.RequestException as exc:
                status = repr(exc)
            with counting:
                if status == 200:
                    answered[0] += 1
                else:
                    failures.append((path, status))

    with ThreadPoolExecutor(max_workers=3) as pool:
        for offset in range(3):
            pool.submit(browse, offset * 5)
        try:
            for _ in _deadline(30):
                if answered[0] >= 20:
                    break
            pair.services.stop(POSTGRES)  # pg_ctl stop -m fast: every connection to it cut
            before, down_at = answered[0], time.monotonic()
            # a while: each web process tries the primary again every DOWN_S
            for _ in _deadline(60):
                if answered[0] >= before + 100 and time.monotonic() - down_at > 3 * DOWN_S:
                    break
            assert answered[0] >= before + 100, "browsing stalled with the primary down"

            # a SKU whose stock no one has asked for yet: the cart must ask the primary (one whose figure is
            # cached is added from Redis alone, primary or not; the checkout checks again anyway)
            line = shop.post(f"/api/v1/carts/{cart}/lines/", json={"sku": other_sku, "quantity": 1})
            assert line.status_code == 503, line.text
            assert line.headers["Retry-After"] == "5"
            assert line.json()["code"] == "unavailable"
            checkout = shop.post("/api/v1/checkout/", json=CHECKOUT | {"cart_token": cart},
                                 headers={"Idempotency-Key": uuid.uuid4().hex})
            assert checkout.status_code == 503, checkout.text
            assert checkout.headers["Retry-After"] == "5"
            signing_in = staff.post(shop.url("/admin/login/"), timeout=30, allow_redirects=False,
                                    data={"username": "staff", "password": "pw", "csrfmiddlewaretoken": token},
                                    headers={"Referer": shop.url("/admin/login/")})
            assert signing_in.status_code == 503, signing_in.text[:500]
            assert "keep browsing" in signing_in.text and signing_in.headers["Retry-After"] == "5"
        finally:
            pair.services.restart(POSTGRES)
            stop.set()
    assert failures == [], (f"{len(failures)} browsing requests failed (of {answered[0] + len(failures)}): "
                            f"{sorted(set(failures))[:20]} {shop.errors()}")
    print(f"browsing: {answered[0]} answered, {answered[0] - before} with the primary down, none failed")

    for _ in _deadline(30):  # back: the same process writes again
        line = shop.post(f"/api/v1/carts/{cart}/lines/", json={"sku": sku, "quantity": 1})
        if line.status_code != 503:
            break
    assert line.status_code in (200, 201), line.text
    assert shop.get("/admin/login/").status_code == 200


def test_a_cached_entry_rebuilt_just_after_its_change_is_built_from_the_primary(pair, shop):
    """The page cache keeps what it builds at the versions it read: built from a replica that has not replayed the
    change behind a bump, it would keep the old data at the new versions until the next change. So for a moment
    after a bump (replicas.fresh_seconds()) its scopes' entries are built from the primary."""
    product_id, slug, _ = pair.a_product()
    with pair.replay_paused():
        moved = pair.rename(product_id)
        # the change's bump, as a staff edit makes it (catalog's services, after the commit)
        bump = f"from catalog import services; services.product_pages_changed(slugs={[slug, moved]!r})"
        env = _shop_environment(pair.services.urls.database_url, DATABASE_REPLICA_URLS=pair.services.replica_url(1),
                                REPLICA_MAX_LAG_MS="600000")
        subprocess.run([sys.executable, "manage.py", "shell", "-c", bump], cwd=settings.BASE_DIR, env=env, check=True,
                       timeout=120, capture_output=True)
        assert not pair.on_replica("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))
        assert shop.get(f"/api/v1/products/{moved}/").status_code == 200  # the primary's: it has the new address
        assert shop.get(f"/p/{moved}/").status_code == 200
    pair.replayed("SELECT 1 FROM catalog_product WHERE slug = %s", (moved,))


def test_replicas_started_beside_the_embedded_postgresql_by_the_launcher():
    folder = settings.DATA_DIR / "replica-tests" / uuid.uuid4().hex[:8]
    report = ("import os, psycopg, dj_database_url as u; d = u.parse(os.environ['DATABASE_REPLICA_URLS']); "
              "c = psycopg.connect(host=d['HOST'], port=d['PORT'], user=d['USER'], dbname=d['NAME']); "
              "print(c.execute('SELECT pg_is_in_recovery()').fetchone()[0])")
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "CACHE_REDIS_URL")}
    try:
        run = subprocess.run([sys.executable, "-m", "store.launcher", "exec", "--", sys.executable, "-c", report],
                             cwd=settings.BASE_DIR, env={**env, "STORE_DATA_DIR": str(folder), "REPLICAS": "1"},
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "True"  # a hot standby, streaming
        assert "started 1 streaming replica(s)" in run.stderr
        assert not EmbeddedServices(folder).replica_running(1), "stopped with the launcher"

        bad = subprocess.run([sys.executable, "-m", "store.launcher", "exec", "--", "true"], cwd=settings.BASE_DIR,
                             env={**env, "STORE_DATA_DIR": str(folder), "REPLICAS": "two"},
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode != 0 and "REPLICAS='two'" in bad.stderr
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(EmbeddedServices(folder)._temp_dir(), ignore_errors=True)
