"""REDIS_CLUSTER_URLS as a deployment loads it (a fresh interpreter outside pytest, which otherwise keeps to its own
Redis databases): both cache aliases on the cluster through store/core/redis_cluster.py, unless the evictable cache
has a server of its own; Celery on its own broker; the near cache off, and refused if asked for."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODES = "redis://10.1.0.1:7000,redis://:pw@10.1.0.2:7000"
SHOW = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({"caches": s.CACHES, "near": s.PAGECACHE_NEAR_ENTRIES, "broker": s.CELERY_BROKER_URL}))
"""


def load(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in (
        "PYTEST_VERSION", "DEBUG", "REDIS_CLUSTER_URLS", "REDIS_CLUSTER_URL", "CACHE_REDIS_URL", "CELERY_BROKER_URL",
        "PAGECACHE_NEAR_ENTRIES")}
    environment.update(DJANGO_SETTINGS_MODULE="store.settings", DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50),
                       **env)
    return subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=environment, capture_output=True, text=True,
                          timeout=120)


def shown(**env) -> dict:
    done = load(**env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cluster_carries_both_caches_and_celery_keeps_its_broker():
    found = shown(REDIS_CLUSTER_URLS=NODES, REDIS_URL="", CELERY_BROKER_URL="amqp://guest:guest@mq:5672//")
    for alias in ("default", "evictable"):
        options = found["caches"][alias]["OPTIONS"]
        assert options["CONNECTION_FACTORY"] == "store.core.redis_cluster.ClusterConnectionFactory"
        assert options["CLIENT_CLASS"] == "store.core.redis_cluster.ClusterCacheClient"
        assert options["CLUSTER_URLS"] == NODES.split(",") and options["IGNORE_EXCEPTIONS"] is True
    assert found["near"] == 0 and found["broker"] == "amqp://guest:guest@mq:5672//"


def test_a_cache_server_of_its_own_keeps_the_evictable_entries_off_the_cluster():
    found = shown(REDIS_CLUSTER_URL="redis://10.1.0.1:7000", REDIS_URL="redis://broker:6379",
                  CACHE_REDIS_URL="redis://cache:6379")
    assert found["caches"]["default"]["OPTIONS"]["CLUSTER_URLS"] == ["redis://10.1.0.1:7000"]
    assert found["caches"]["evictable"]["LOCATION"] == "redis://cache:6379/0"
    assert "CONNECTION_FACTORY" not in found["caches"]["evictable"]["OPTIONS"]
    assert found["broker"] == "redis://broker:6379/1"


def test_the_near_cache_is_refused_on_a_cluster_and_a_broker_is_required():
    near = load(REDIS_CLUSTER_URLS=NODES, REDIS_URL="redis://broker:6379", PAGECACHE_NEAR_ENTRIES="1000")
    assert near.returncode != 0 and "PAGECACHE_NEAR_ENTRIES must be 0 with REDIS_CLUSTER_URLS" in near.stderr
    no_broker = load(REDIS_CLUSTER_URLS=NODES, REDIS_URL="")
    assert no_broker.returncode != 0 and "REDIS_URL is not set" in no_broker.stderr
