"""A near cache in each web process, in front of Redis, kept exact by Redis's own invalidation messages.

A cached page costs one Redis round trip per view: the version counters of everything it was built from, and the
page (store.core.cache.versioned). On a busy two-core machine that round trip alone is a third of what a bare
Django view costs. Redis's server-assisted client-side caching (`CLIENT TRACKING ... BCAST PREFIX`, Redis 6 and
later) removes it without giving up exact invalidation:

- Each process keeps the version counters it has read and the values (pages) built at them, in memory.
- One connection per process subscribes to Redis's invalidation messages for every key under the counters' prefix,
  and a daemon thread reads them as they come. Before a value is served from memory, the request reads whatever
  has already arrived on that connection (a non-blocking poll), so it knows of every change Redis has sent.
- `store.core.cache.bump()` makes one more round trip after its INCRs. Redis sends broadcast invalidations before
  it answers anything else, so when bump() returns, the message is already in every process's socket, and no page
  view anywhere that starts after an edit was saved can serve what the edit made stale.
- A counter learnt from a read is kept only if no invalidation of it arrived while that read was in flight; a
  process that loses its tracking connection (Redis restarted, network) forgets everything it held. As a last net
  for a connection that dies silently, a counter is trusted for at most PAGECACHE_NEAR_SECONDS.

Memory is bounded by PAGECACHE_NEAR_ENTRIES values per process (least recently used go first); 0 switches the near
cache off. With Redis Cluster (where BCAST tracking is per node) leave it off. Anything unexpected — a Redis
without CLIENT TRACKING, a dead server — costs only the near cache: reads go to Redis as before.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import select
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.signals import setting_changed
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)
CHANNEL = "__redis__:invalidate"
MISSING = object()
RETRY_AFTER_S = 1.0  # after a failed connect, page views go straight to Redis for this long before trying again
RECENT = 256  # invalidation messages remembered, to tell whether one touched a read that was in flight
VERSIONS_PER_ENTRY = 4  # counters kept per page kept, at the most (a crawler reads every product's once)


class Tracker:
    """One process's near cache for one Redis server (see the module docstring)."""

    def __init__(self, client, key_prefix: str, tracked: str):
        self._client = client  # django-redis's redis.Redis: the connection settings to copy
        self._key_prefix = key_prefix  # what the cache puts before every key ("store:1:")
        self._tracked = tracked  # the keys (after the cache's prefix) whose changes Redis reports ("gen:")
        self._lock = threading.Lock()
        self._conn = None
        self.client_id = None  # the tracking connection's id in Redis (CLIENT LIST shows it)
        self._retry_at = 0.0
        self._epoch = 0  # invalidation messages applied so far
        self._recent: collections.deque = collections.deque(maxlen=RECENT)  # (epoch, keys or None = everything)
        self._versions: dict[str, tuple[Any, float]] = {}  # Redis key of a counter -> (value, when learnt)
        self._values: collections.OrderedDict[str, tuple[tuple, Any]] = collections.OrderedDict()

    # ------------------------------------------------------------------ reading and learning
    def lookup(self, key: str, version_keys: list[str]) -> tuple[int | None, Any]:
        """(epoch to pass to remember(), the value under ``key`` if it was built at the counters' current values,
        else MISSING). Epoch None: the near cache cannot be used now."""
        epoch, value, _ = self.lookup_at(key, version_keys)
        return epoch, value

    def lookup_at(self, key: str, version_keys: list[str]) -> tuple[int | None, Any, tuple | None]:
        """lookup(), and the counters' values the value was built at (None with MISSING)."""
        with self._lock:
            if not self._live():
                return None, MISSING, None
            trusted_since = time.monotonic() - settings.PAGECACHE_NEAR_SECONDS
            current = []
            for vk in version_keys:
                known = self._versions.get(vk)
                if known is None or known[1] < trusted_since:
                    return self._epoch, MISSING, None
                current.append(known[0])
            entry = self._values.get(key)
            if entry is None or entry[0] != tuple(current):
                return self._epoch, MISSING, None
            self._values.move_to_end(key)
            return self._epoch, entry[1], entry[0]

    def remember(self, epoch: int | None, key: str, versions: dict[str, Any], value: Any) -> None:
        """Keep ``value`` and the counters it was built at (read from Redis after ``epoch``), unless an
        invalidation of one of those counters has arrived since: then the read may predate a change."""
        if epoch is None:
            return
        with self._lock:
            if not self._live() or not self._untouched_since(epoch, versions):
                return
            now = time.monotonic()
            for vk, v in versions.items():
                self._versions[vk] = (v, now)
            self._values[key] = (tuple(versions.values()), value)
            self._values.move_to_end(key)
            while len(self._values) > settings.PAGECACHE_NEAR_ENTRIES:
                self._values.popitem(last=False)
            if len(self._versions) > VERSIONS_PER_ENTRY * settings.PAGECACHE_NEAR_ENTRIES:
                self._versions.clear()  # pages are kept; each is checked against Redis once before it is used again

    def forget(self) -> None:
        """Drop everything this process holds (tests call this after flushing Redis)."""
        with self._lock:
            self._forget_locked()

    def _untouched_since(self, epoch: int, versions: dict[str, Any]) -> bool:
        missed = self._epoch - epoch
        if missed == 0:
            return True
        if missed > len(self._recent):
            return False
        return all(keys is not None and keys.isdisjoint(versions) for _, keys in list(self._recent)[-missed:])

    def _forget_locked(self) -> None:
        self._versions.clear()
        self._values.clear()
        self._epoch += 1
        self._recent.append((self._epoch, None))

    # ------------------------------------------------------------------ the tracking connection
    def _live(self) -> bool:
        """Connected, with every invalidation that has reached this process applied. Call with the lock held."""
        if self._conn is None and not self._connect():
            return False
        try:
            while self._conn.can_read(timeout=0):
                self._apply(self._conn.read_response())
            return True
        except (RedisError, OSError, ValueError):
            logger.warning("near cache: lost the invalidation connection; forgetting what this process held")
            self._drop_connection()
            return False

    def _connect(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        pool = self._client.connection_pool
        # RESP2 whatever the client speaks: invalidations then arrive as plain messages on CHANNEL
        conn = pool.connection_class(**{**pool.connection_kwargs, "protocol": 2})
        try:
            conn.connect()
            conn.send_command("CLIENT", "ID")
            client_id = conn.read_response()
            # the connection receives its own invalidations (RESP2: as messages on CHANNEL), so tracking and the
            # subscription live and die together
            conn.send_command("CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX",
                              self._key_prefix + self._tracked)
            conn.read_response()
            conn.send_command("SUBSCRIBE", CHANNEL)
            conn.read_response()
        except (RedisError, OSError) as exc:
            logger.warning("near cache off for %.0f s: %s", RETRY_AFTER_S, exc)
            with contextlib.suppress(Exception):
                conn.disconnect()
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return False
        self._forget_locked()  # anything learnt before this subscription could have missed a message
        self._conn, self.client_id = conn, client_id
        threading.Thread(target=self._watch, args=(conn,), name="nearcache-invalidations", daemon=True).start()
        return True

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        self._forget_locked()
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.disconnect()

    def _apply(self, message) -> None:
        if not (isinstance(message, list) and len(message) == 3 and message[0] == b"message"):
            return  # a subscription confirmation
        keys = message[2]
        if keys is None:  # the database was flushed
            self._forget_locked()
            return
        self._epoch += 1
        cut = len(self._key_prefix)  # counters are known by the names the cache is asked for
        names = {(k.decode() if isinstance(k, bytes) else str(k))[cut:] for k in keys}
        for name in names:
            self._versions.pop(name, None)
        self._recent.append((self._epoch, frozenset(names)))

    def _watch(self, conn) -> None:
        """Apply invalidations as they arrive even when no page is being served, so that they never pile up in
        Redis's output buffer (where a poll would not see them)."""
        sock = getattr(conn, "_sock", None)  # redis-py's socket: a newer redis-py without it is caught by the tests
        if sock is None:
            logger.warning("near cache: no socket to watch; invalidations are read at page views only")
            return
        while True:
            try:
                select.select([sock], [], [], 30)
            except (OSError, ValueError):
                return
            with self._lock:
                if self._conn is not conn:
                    return
                self._live()


_trackers: dict[Any, Tracker] = {}  # by connection pool: one per Redis server (tests switch servers)
_trackers_lock = threading.Lock()
_current: Tracker | None = None  # the default cache's, found once (page views ask on every request)


def tracker(tracked: str) -> Tracker | None:
    """This process's near cache for the default cache's Redis, following the counters whose keys begin with
    ``tracked``; None when switched off."""
    global _current
    if settings.PAGECACHE_NEAR_ENTRIES <= 0:
        return None
    if _current is None:
        client = get_redis_connection("default")
        with _trackers_lock:
            found = _trackers.get(client.connection_pool)
            if found is None:
                found = _trackers[client.connection_pool] = Tracker(client, caches["default"].make_key(""), tracked)
            _current = found
    return _current


def _after_fork() -> None:
    """A forked child's trackers are its parent's (connections, threads): it starts its own."""
    global _current, _trackers_lock
    _trackers.clear()
    _trackers_lock = threading.Lock()
    _current = None


def _on_setting_changed(*, setting: str, **kwargs) -> None:
    global _current
    if setting == "CACHES":  # tests that point the cache elsewhere
        _current = None


os.register_at_fork(after_in_child=_after_fork)
setting_changed.connect(_on_setting_changed)


def forget_all() -> None:
    for t in list(_trackers.values()):
        t.forget()
