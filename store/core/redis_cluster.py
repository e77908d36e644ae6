"""The shop's kept Redis on a Redis Cluster (REDIS_CLUSTER_URLS): the cache alias whose raw client every cart, gate,
queue, rate limit, session and version counter uses becomes a redis-py ``RedisCluster``, through django-redis's own
extension points (the ``CONNECTION_FACTORY`` and ``CLIENT_CLASS`` options).

What a cluster asks of the code that uses it: a script or a transaction may touch keys of one hash slot only, so
each names its keys with a common hash tag (``{…}``) or touches one key; plain pipelines may span slots (redis-py
sends each command to its node). django-redis's ``get_many`` is one MGET, which a cluster refuses across slots:
``ClusterCacheClient`` asks each slot's node instead (redis-py's ``mget_nonatomic``), the same answer without the
atomicity a cache read never needed. docs/design.md, Redis Cluster, says which keys share which tag and why.
"""

from __future__ import annotations

from typing import Any

from django_redis.client import DefaultClient
from django_redis.exceptions import ConnectionInterrupted
from django_redis.pool import ConnectionFactory
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import SSLConnection, parse_url
from redis.exceptions import RedisError
from redis.retry import Retry

FACTORY = "store.core.redis_cluster.ClusterConnectionFactory"
CLIENT = "store.core.redis_cluster.ClusterCacheClient"
# How long a command keeps trying through a failover before the caller is told (a cart answers 503): three more
# attempts over at most ~1.5 s, re-reading the cluster's slots in between, rather than redis-py's default of up to
# 10 s a step, which would hold a web thread that long.
RETRIES = 3
BACKOFF = ExponentialWithJitterBackoff(base=0.1, cap=0.5)


def cluster_cache(urls: list[str], base: dict) -> dict:
    """A django-redis cache definition on the cluster whose nodes ``urls`` name (one is enough: the client learns
    the others), with ``base``'s other settings (KEY_PREFIX, TIMEOUT, OPTIONS)."""
    return {**base, "LOCATION": urls[0],
            "OPTIONS": {**base.get("OPTIONS", {}), "CONNECTION_FACTORY": FACTORY, "CLIENT_CLASS": CLIENT,
                        "CLUSTER_URLS": list(urls)}}


class ClusterConnectionFactory(ConnectionFactory):
    """django-redis's connection factory for a cluster: ``connect`` answers one ``RedisCluster`` per process and set
    of nodes (it keeps a connection pool per node and follows the cluster's slots itself)."""

    _clusters: dict[tuple, RedisCluster] = {}

    def connect(self, url: str) -> RedisCluster:
        urls = tuple(self.options.get("CLUSTER_URLS") or (url,))
        key = (urls, self.options.get("SOCKET_TIMEOUT"), self.options.get("SOCKET_CONNECT_TIMEOUT"))
        if key not in self._clusters:
            self._clusters[key] = self._cluster(urls)
        return self._clusters[key]

    def _cluster(self, urls: tuple[str, ...]) -> RedisCluster:
        nodes, kwargs = [], {}
        for url in urls:
            parsed = parse_url(url)
            nodes.append(ClusterNode(parsed.get("host", "127.0.0.1"), int(parsed.get("port", 6379))))
            kwargs.update({name: parsed[name] for name in ("username", "password") if parsed.get(name)})
            if parsed.get("connection_class") is SSLConnection:
                kwargs["ssl"] = True
        for option, name in (("SOCKET_TIMEOUT", "socket_timeout"), ("SOCKET_CONNECT_TIMEOUT", "socket_connect_timeout"),
                             ("USERNAME", "username"), ("PASSWORD", "password")):
            if self.options.get(option):
                kwargs[name] = self.options[option]
        return RedisCluster(startup_nodes=nodes, retry=Retry(BACKOFF, RETRIES), **kwargs)

    def disconnect(self, connection: RedisCluster) -> None:
        connection.disconnect_connection_pools()


class ClusterCacheClient(DefaultClient):
    """django-redis's client, with ``get_many`` read slot by slot (a cluster refuses an MGET across slots)."""

    def get_many(self, keys, version: int | None = None, client: Any = None) -> dict:
        if client is None:
            client = self.get_client(write=False)
        if not keys:
            return {}
        named = {self.make_key(key, version=version): key for key in keys}
        try:
            values = client.mget_nonatomic(list(named))
        except RedisError as exc:
            raise ConnectionInterrupted(connection=client) from exc
        return {named[key]: self.decode(value) for key, value in zip(named, values, strict=True) if value is not None}
