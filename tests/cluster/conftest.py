"""The shop's kept Redis on a real Redis Cluster (3 masters, each with a replica), started once for these tests
(tests/redis_cluster.py): every test here runs with both cache aliases pointed at it, as REDIS_CLUSTER_URLS does in
production (store/core/redis_cluster.py), the near cache off, and the cluster emptied before and after."""

import pytest

from store.core.redis_cluster import cluster_cache
from tests.redis_cluster import RedisCluster


@pytest.fixture(scope="session")
def redis_cluster():
    cluster = RedisCluster(masters=3, replicas=1).start()
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def on_cluster(redis_cluster, settings):
    """(A module with a cluster of its own overrides this fixture.)"""
    yield from pointed_at(redis_cluster, settings)


def pointed_at(cluster: RedisCluster, settings):
    cluster.wait_healthy()
    settings.CACHES = {alias: cluster_cache(cluster.urls(), config) for alias, config in settings.CACHES.items()}
    settings.PAGECACHE_NEAR_ENTRIES = 0  # its invalidations come from one server (settings refuse it on a cluster)
    cluster.flush()
    yield cluster
    cluster.flush()
