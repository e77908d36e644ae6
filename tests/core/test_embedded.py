"""The embedded services: leases decide who starts and who stops the servers, and a dead holder is ignored."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from store.embedded import CACHE_REDIS, POSTGRES, REDIS, SERVERS, EmbeddedServices, servers_needed


@pytest.fixture
def services():
    # inside the test data folder: like the real one, reachable by the unprivileged PostgreSQL user
    folder = settings.DATA_DIR / "embedded-tests" / uuid.uuid4().hex[:8]
    svc = EmbeddedServices(folder)
    yield svc
    with svc._locked():
        for server in SERVERS:
            svc._stop(server)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(svc._temp_dir(), ignore_errors=True)  # where sockets go when 'nobody' cannot reach the folder


def _answers(svc: EmbeddedServices) -> bool:
    try:
        with psycopg.connect(svc.urls.database_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return bool(redis.Redis.from_url(svc.urls.redis_url).ping())
    except (psycopg.Error, redis.RedisError, OSError):
        return False


def test_first_lease_starts_servers_and_last_release_stops_them(services):
    services.acquire(pid=111_111_1)  # a pid that is not alive is not counted...
    assert _answers(services)
    services.acquire()  # ...so this process's own lease is what keeps them up
    assert services.release() is True
    assert not _answers(services)


def test_servers_stay_up_while_another_live_process_holds_a_lease(services):
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        services.acquire(pid=other.pid)
        services.acquire()
        assert services.release() is False, "another live holder keeps the servers"
        assert _answers(services)
    finally:
        other.communicate(b"")
    assert services.release(pid=other.pid) is True
    assert not _answers(services)


def test_what_redis_holds_survives_a_restart(services):
    """Carts and queued Celery tasks live in Redis: stopping the servers (Ctrl-C on `make run`) must keep them."""
    services.acquire()
    redis.Redis.from_url(services.urls.redis_url).set("cart:t:kept", "1")
    assert services.release() is True and not _answers(services)
    services.acquire()
    assert redis.Redis.from_url(services.urls.redis_url).get("cart:t:kept") == b"1"
    assert services.release() is True


def test_a_server_left_by_a_killed_holder_is_adopted_and_stopped(services):
    holder = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    services.acquire(pid=holder.pid)
    holder.kill()
    holder.wait()
    services.acquire()  # attaches to the running servers
    assert _answers(services)
    assert services.release() is True  # the dead lease does not keep them alive
    assert not _answers(services)


def test_a_killed_server_is_seen_down_and_restarts_with_its_data(services):
    """What the launcher's supervisor relies on: `running` notices a kill at once, `restart` brings the server back
    (PostgreSQL after crash recovery; Redis from its snapshot)."""
    services.acquire()
    redis.Redis.from_url(services.urls.redis_url).set("cart:t:kept", "1")
    redis.Redis.from_url(services.urls.redis_url).save()
    for server, pid_of in (("Redis", services._redis_pid), ("PostgreSQL", services._postgres_pid)):
        os.kill(pid_of(), signal.SIGKILL)
        _until(lambda s=server: not services.running(s), f"{server} to be seen down", 10)
        _until(lambda s=server: _restarted(services, s), f"{server} to restart", 20)
    assert _answers(services)
    assert redis.Redis.from_url(services.urls.redis_url).get("cart:t:kept") == b"1"
    assert services.release() is True


def _restarted(services: EmbeddedServices, server: str) -> bool:
    try:
        services.restart(server)
    except RuntimeError:  # PostgreSQL: until the killed server's zombie is reaped (the launcher retries likewise)
        return False
    return services.running(server)


def _until(condition, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_only_the_servers_a_lease_needs_run_and_each_stops_with_its_last_lease(services):
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        services.acquire(pid=other.pid, servers=(REDIS,))  # e.g. a process given DATABASE_URL and CACHE_REDIS_URL
        assert services.running(REDIS)
        assert not services.running(POSTGRES) and not services.running(CACHE_REDIS)
        assert not (services.pgdata / "PG_VERSION").exists(), "no PostgreSQL made that nobody uses"
        services.acquire(servers=(CACHE_REDIS,))
        assert services.running(CACHE_REDIS)
        assert services.release() is False, "the other lease is live"
        assert not services.running(CACHE_REDIS), "no one needs the cache Redis any more"
        assert services.running(REDIS)
    finally:
        other.communicate(b"")
    assert services.release(pid=other.pid) is True
    assert not services.running(REDIS)


def test_the_cache_redis_evicts_within_its_size_and_the_kept_redis_never_evicts(services):
    services.cache_maxmemory = "8mb"
    urls = services.acquire(servers=(REDIS, CACHE_REDIS))
    kept, cache = redis.Redis.from_url(urls.redis_url), redis.Redis.from_url(urls.cache_redis_url)
    assert kept.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    assert cache.config_get("maxmemory-policy")["maxmemory-policy"] == "allkeys-lru"
    assert cache.config_get("maxmemory")["maxmemory"] == str(8 * 1024 * 1024)
    assert cache.config_get("save")["save"] == "", "a cache keeps nothing on disk"
    services.cache_maxmemory = "16mb"
    services.acquire(servers=(CACHE_REDIS,))  # a running one takes the size configured now
    assert cache.config_get("maxmemory")["maxmemory"] == str(16 * 1024 * 1024)
    assert services.release() is True


@pytest.mark.parametrize(("environ", "needed"), [
    ({}, (POSTGRES, REDIS, CACHE_REDIS)),
    ({"DATABASE_URL": "postgresql://db/store"}, (REDIS, CACHE_REDIS)),
    ({"REDIS_URL": "redis://r"}, (POSTGRES,)),  # the cache shares REDIS_URL's server
    ({"CACHE_REDIS_URL": "redis://c"}, (POSTGRES, REDIS)),
    ({"DATABASE_URL": "postgresql://db/store", "REDIS_URL": "redis://r"}, ()),
    # on a Redis Cluster, a Redis for Celery's broker (and the cache) unless CELERY_BROKER_URL names the broker
    ({"REDIS_CLUSTER_URLS": "redis://n1,redis://n2"}, (POSTGRES, REDIS, CACHE_REDIS)),
    ({"REDIS_CLUSTER_URLS": "redis://n1", "CELERY_BROKER_URL": "amqp://b//"}, (POSTGRES,)),
])
def test_embedded_servers_are_needed_only_for_what_the_urls_leave_unset(environ, needed):
    assert servers_needed(environ) == needed


def test_a_child_that_will_not_stop_is_killed_with_its_own_processes():
    from store.launcher import Supervisor, descendants

    stubborn = ("import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "subprocess.Popen(['sleep', '60']); print('ready', flush=True); time.sleep(60)")
    sup = Supervisor()
    sup.start("stubborn", [sys.executable, "-c", stubborn], dict(os.environ))
    proc = sup.children[0].proc
    deadline = time.monotonic() + 10
    while not descendants(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # until its own child (a gunicorn or Celery worker, in real life) exists
    grandchildren = descendants(proc.pid)
    assert grandchildren
    sup.stop(grace=0.5)
    assert proc.poll() is not None
    for pid in grandchildren:  # gone, or a zombie waiting for init to reap it: not running either way
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        assert state in ("Z", "X")
