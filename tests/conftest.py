"""Shared fixtures: Redis databases of the suite's own, a clean cache per test (real Redis), factories, a staff user.

Isolation (README: Tests): under pytest, store/settings.py puts the cache (and every raw Redis key: carts, gates,
limits, idempotency memos) in database TEST_REDIS_DB (15) and Celery's queues in the one below it (14) of whatever
server REDIS_URL names. The suite marks them as its own (MARKER) and refuses to start if they hold keys it did not
put there, or are in use by another live run; it empties only them."""

import os
import socket

import pytest
from django.conf import settings as django_settings

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
    queues = {app.conf.task_default_queue, *(route["queue"] for route in app.conf.task_routes.values())}

    def purge():
        with app.connection_for_write() as connection:
            for queue in queues:
                connection.default_channel.queue_purge(queue)

    purge()
    yield
    purge()


@pytest.fixture(autouse=True)
def _steady_rate_limit_windows(monkeypatch):
    """django-ratelimit counts per clock window: a test's few requests must never straddle the end of one (a
    rare, timing-dependent failure otherwise). Its clock stands still for the test; nothing else's does."""
    import types

    import django_ratelimit.core

    now = django_ratelimit.core.time.time()
    monkeypatch.setattr(django_ratelimit.core, "time", types.SimpleNamespace(time=lambda: now))


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (cache invalidation, events) inside a normal test transaction."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client


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
