"""Shared fixtures: Redis databases of the suite's own, a clean cache per test (real Redis), a still clock for the
rate limits, staff of each role, hypothesis profiles.

Isolation (README: Tests): under pytest, store/settings.py puts the cache (and every raw Redis key: carts, gates,
limits, idempotency memos) in database TEST_REDIS_DB (15) and Celery's queues in the one below it (14) of whatever
server REDIS_URL names. The suite marks them as its own (MARKER) and refuses to start if they hold keys it did not
put there, or are in use by another live run; it empties only them."""

import os
import socket

import pytest
from django.conf import settings as django_settings
from hypothesis import settings as hypothesis_settings

# Hypothesis: under CI a fixed seed (a red run is the code's fault, and the same run again shows the same example)
# and no examples database (nothing to keep between fresh checkouts; the failing example is printed as a blob to
# reproduce it with @reproduce_failure). Locally the default profile: random, remembering failures in .hypothesis/
# (git-ignored). HYPOTHESIS_PROFILE picks one explicitly.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "default"))

MARKER = "store-test-db"  # its value: "host:pid" of the run that owns the database
OWNER = f"{socket.gethostname()}:{os.getpid()}"


def pytest_configure(config):
    # Celery reads CELERY_BROKER_URL from the environment before its settings: the tests' broker (settings) wins.
    os.environ.pop("CELERY_BROKER_URL", None)
    if os.environ.get("PYTEST_XDIST_WORKER") or getattr(config.option, "numprocesses", None) \
            or getattr(config.option, "dist", "no") != "no":
        pytest.exit("parallel runs (pytest -n / xdist) are not supported: the workers would share and empty one "
                    "another's Redis databases. Run without -n.", returncode=pytest.ExitCode.USAGE_ERROR)
    refuse_the_real_database(django_settings.DATABASES["default"])


def refuse_the_real_database(db: dict) -> None:
    """pytest-django creates (and drops) test_<name>, or TEST_DATABASE_NAME: never the database the shop uses."""
    if db["TEST"]["NAME"] == db["NAME"]:
        pytest.exit(f"the test database would be {db['NAME']!r}, the database DATABASE_URL names: pytest-django "
                    "drops and recreates it. Set TEST_DATABASE_NAME to another name.",
                    returncode=pytest.ExitCode.USAGE_ERROR)


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # cannot tell: assume the other run is still going
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _where(client) -> str:
    kwargs = client.connection_pool.connection_kwargs
    server = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
    return f"database {kwargs.get('db', 0)} of the Redis at {server}"


def _claim(client) -> None:
    """Make this Redis database the run's own, or stop the run: never empty one holding data the suite did not
    create (a shared or production Redis), nor one another live run is using."""
    if client.set(MARKER, OWNER, nx=True):
        foreign = client.dbsize() - 1
        if foreign:
            client.delete(MARKER)
            pytest.exit(f"refusing to run: {_where(client)} holds {foreign} keys the tests did not create (no "
                        f"{MARKER!r} key), and the suite empties it. Point REDIS_URL at another server or set "
                        "TEST_REDIS_DB to a free database (the tests use it and the one below it).",
                        returncode=pytest.ExitCode.USAGE_ERROR)
        return
    owner = (client.get(MARKER) or b"").decode()
    if owner != OWNER and _alive(owner):
        pytest.exit(f"refusing to run: {_where(client)} is in use by another test run ({MARKER} = {owner!r}). "
                    f"Wait for it, or delete the key {MARKER!r} if no run is going.",
                    returncode=pytest.ExitCode.USAGE_ERROR)
    client.set(MARKER, OWNER)  # a run that died left it: the data is the suite's own


def _empty(client) -> None:
    """Empty a database this run owns (checked again: never one it has not claimed)."""
    if (client.get(MARKER) or b"").decode() != OWNER:
        pytest.exit(f"{_where(client)} is no longer this run's ({MARKER} changed): stopping before emptying it")
    with client.pipeline(transaction=True) as pipe:
        pipe.flushdb().set(MARKER, OWNER).execute()


def _redis_databases():
    """The tests' cache database and Celery's, as redis clients."""
    import redis
    from django_redis import get_redis_connection

    cache_db = get_redis_connection("default")
    pool = cache_db.connection_pool
    broker_db = redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=pool.connection_class, **{**pool.connection_kwargs, "db": django_settings.TEST_BROKER_DB}))
    return cache_db, broker_db


@pytest.fixture(scope="session", autouse=True)
def _own_redis_databases():
    if not django_settings.TESTING:
        pytest.exit("store/settings.py did not see pytest (PYTEST_VERSION unset): it would use the shop's Redis")
    cache_db, broker_db = _redis_databases()
    if cache_db.connection_pool.connection_kwargs.get("db") != django_settings.TEST_REDIS_DB:
        pytest.exit(f"the cache is not in the tests' Redis database: {_where(cache_db)}")
    for client in (cache_db, broker_db):
        _claim(client)
    yield cache_db
    for client in (cache_db, broker_db):
        _empty(client)
        client.delete(MARKER)  # left empty: the next run finds nothing it did not create


@pytest.fixture(autouse=True)
def _clean_cache(_own_redis_databases):
    from store.core import nearcache

    _empty(_own_redis_databases)  # not cache.clear(): that would flush whatever database the cache pointed at
    nearcache.forget_all()  # the flush's invalidation message would say so too, a moment later
    yield
    _empty(_own_redis_databases)
    nearcache.forget_all()


@pytest.fixture(scope="session", autouse=True)
def _no_tasks_left_queued(_own_redis_databases):
    """Some tests send tasks that no worker here takes (a checkout queued past the in-flight limit), and Redis keeps
    a snapshot between runs: the task queues (in the tests' own broker database) are emptied before and after."""
    from store.celery import app

    if app.conf.broker_url != django_settings.CELERY_BROKER_URL:
        pytest.exit(f"Celery's broker is not the tests' own: {app.conf.broker_url}")
    queues = {app.conf.task_default_queue, *(route["queue"] for route in app.conf.task_routes.values()),
              *django_settings.OUTBOX_TOPIC_QUEUES.values()}

    def purge():
        with app.connection_for_write() as connection:
            for queue in queues:
                connection.default_channel.queue_purge(queue)

    purge()
    yield
    purge()


class StillClock:
    """A clock for the rate limits' windows (store/core/ratelimit.py) that moves only when a test moves it."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


# 30.5 s into a minute (and 12:30:30.5 of a day): every window of a test's few requests is the same one, with time
# left in it (a minute's limit answers Retry-After: 30).
MID_WINDOW = 20_000 * 86_400 + 12 * 3_600 + 30 * 60 + 30.5


@pytest.fixture
def rate_clock():
    """The rate limits' clock held still for this test: its requests all count in one window, however long it
    takes. Set in the test's own thread only (a context variable, not a patched global): threads the test starts,
    and a live server's, count by the real clock."""
    from store.core import ratelimit

    clock = StillClock(MID_WINDOW)
    token = ratelimit.clock.set(clock)
    yield clock
    ratelimit.clock.reset(token)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (cache invalidation, events) inside a normal test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# ---------------------------------------------------------------- staff: each with the least it needs
# The shipped roles (orders/migrations/0007_staff_roles.py; returns/migrations/0003_staff_roles.py for returns):
# Support looks, Fulfilment also ships and moves stock, Manager also moves money and decides what is on sale (and
# sets shipping methods, tax rates and promo codes: shipping/migrations/0005_manager_sells.py). Each
# actor logs in on a Client of its own, never the ``client`` a test's shopper uses. A superuser only where a test is
# about one.
CATALOG_EDITING = [f"catalog.{action}_{model}" for model in ("product", "variant", "productimage", "category")
                   for action in ("add", "change", "delete")] + ["catalog.activate_product"]


def staff_role(name: str):
    """A shipped group (a transactional test before this one may have flushed what the migration made)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    if not Group.objects.filter(name=name).exists():
        importlib.import_module("orders.migrations.0007_staff_roles").create_staff_roles(apps, None)
        importlib.import_module("returns.migrations.0003_staff_roles").grant_return_permissions(apps, None)
        importlib.import_module("reviews.migrations.0003_staff_roles").grant_review_permissions(apps, None)
        importlib.import_module("shipping.migrations.0004_staff_roles").grant_selling_permissions(apps, None)
        importlib.import_module("shipping.migrations.0005_manager_sells").grant_selling_to_managers(apps, None)
    return Group.objects.get(name=name)


@pytest.fixture
def staff_login(django_user_model):
    """staff_login(username, role=None, perms=()) -> a Client of its own, logged in as a staff user (not a
    superuser) in that shipped role, with those extra permissions ("app.codename")."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    def login(username: str, role: str | None = None, perms=()):
        user = django_user_model.objects.create_user(username, f"{username}@example.com", "pw-for-tests-only",
                                                     is_staff=True)
        if role:
            user.groups.add(staff_role(role))
        for dotted in perms:
            app_label, codename = dotted.split(".")
            user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        client = Client()
        client.force_login(user)
        client.user = user
        return client
    return login


@pytest.fixture
def support_client(staff_login):
    return staff_login("support", "Support")


@pytest.fixture
def fulfilment_client(staff_login):
    return staff_login("fulfilment", "Fulfilment")


@pytest.fixture
def manager_client(staff_login):
    return staff_login("manager", "Manager")


@pytest.fixture
def catalog_editor_client(staff_login):
    """Staff who edit the catalogue (no shipped role does): products, variants, images, categories, and showing
    or hiding products."""
    return staff_login("editor", "Support", CATALOG_EDITING)


@pytest.fixture
def stripe_api(settings):
    """Stripe configured, talking to a local fake of its API (tests/payments/fake_stripe.py)."""
    from tests.payments.fake_stripe import KEY, WEBHOOK_SECRET, FakeStripe

    with FakeStripe(KEY) as fake:
        settings.STRIPE_SECRET_KEY = KEY
        settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake_key_for_tests"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield fake
