"""Versioned cache entries: exact invalidation without races, in one Redis round trip per read.

An entry is stored as (versions, value), where versions are the counters ("generations") of everything it was
built from, read *before* building. A reader fetches the entry and the current counters in one MGET and uses the
entry only if they match; a writer commits its change, then bumps the counters. So an entry built from data read
before a commit can never be served after the bump, whichever order racing builders store in.

Hot entries (whole pages) can also be kept in each process's memory (``near=True``; store.core.nearcache), where
Redis's invalidation messages for the counters keep them exact without a round trip per read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection

from store.core import nearcache

logger = logging.getLogger(__name__)
REBUILD_LOCK_S = 5  # how long a rebuild may hold its lock (a crashed builder frees it by then)
REBUILD_WAIT_S = 1.0  # how long others wait for it before building themselves


VERSION_PREFIX = "gen:"


def version_key(scope: str) -> str:
    return f"{VERSION_PREFIX}{scope}"


def _fresh(entry, current: tuple) -> bool:
    return isinstance(entry, tuple) and len(entry) == 2 and entry[0] == current


def versioned(key: str, scopes: Iterable[str], build: Callable[[], Any], *, timeout: int,
              is_miss: Callable[[Any], bool] = lambda value: False, miss_timeout: int = 60,
              near: bool = False) -> Any:
    """The value under ``key`` if it was built at the scopes' current versions; else ``build()`` it and store it.
    ``near``: also keep it in this process's memory (store.core.nearcache), for values read on every page view."""
    keys = [version_key(s) for s in scopes]
    local = nearcache.tracker(VERSION_PREFIX) if near else None
    epoch = None
    if local is not None:
        epoch, value = local.lookup(key, keys)
        if value is not nearcache.MISSING:
            return value
    found = cache.get_many([key, *keys])
    current = tuple(found.get(k, 0) for k in keys)
    entry = found.get(key)
    if _fresh(entry, current):
        if local is not None:
            local.remember(epoch, key, dict(zip(keys, current, strict=True)), entry[1])
        return entry[1]
    # Single flight: under a crowd, one request rebuilds an entry while the others wait briefly for it, so an
    # invalidated hot page costs the database one build, not one per shopper. Nobody is served stale data.
    lock = f"rebuild:{key}:{'.'.join(map(str, current))}"
    added = cache.add(lock, 1, timeout=REBUILD_LOCK_S)  # None: Redis is down (IGNORE_EXCEPTIONS); just build
    if added is False:
        deadline = time.monotonic() + REBUILD_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(0.01)  # another request is building this very entry
            entry = cache.get(key)
            if _fresh(entry, current):
                return entry[1]
    elif added:
        entry = cache.get(key)  # built by the one who held the lock just before us?
        if _fresh(entry, current):
            cache.delete(lock)
            return entry[1]
    try:
        value = build()
        cache.set(key, (current, value), miss_timeout if is_miss(value) else timeout)
    finally:
        cache.delete(lock)
    if local is not None and not is_miss(value):
        local.remember(epoch, key, dict(zip(keys, current, strict=True)), value)
    return value


def redis_version_key(scope: str) -> str:
    """The Redis key of a scope's version counter, for a Lua script that checks versions itself (the counters are
    plain integers there: django-redis does not pickle ints)."""
    return cache.make_key(version_key(scope))


def bump(scopes: Iterable[str]) -> None:
    """Make every entry built from these scopes stale. Call after the change has committed. One round trip."""
    scopes = list(scopes)
    if not scopes:
        return
    try:
        redis = get_redis_connection("default")
        pipe = redis.pipeline(transaction=False)
        for scope in scopes:
            pipe.incr(redis_version_key(scope))
        pipe.execute()
        if settings.PAGECACHE_NEAR_ENTRIES > 0:
            # Redis hands out broadcast invalidations before it answers any later command: once this returns,
            # every process's near cache has the message in its socket and reads it before its next page view
            redis.ping()
    except Exception:  # Redis down: nothing can be read from it either; entries also expire on their own
        logger.exception("could not bump cache versions %s", scopes)


def versioned_many(entries: dict[str, tuple[str, ...]], build: Callable[[list[str]], dict[str, Any]], *,
                   timeout: int) -> dict[str, Any]:
    """Many versioned entries in one MGET: ``entries`` maps each cache key to the scopes it depends on; the keys
    whose entries are missing or stale are built together by ``build(keys)`` (which may leave out keys that have
    no value) and stored. Returns key -> value."""
    if not entries:
        return {}
    version_keys = sorted({version_key(s) for scopes in entries.values() for s in scopes})
    found = cache.get_many([*entries, *version_keys])
    values, stale = {}, []
    for key, scopes in entries.items():
        current = tuple(found.get(version_key(s), 0) for s in scopes)
        entry = found.get(key)
        if _fresh(entry, current):
            if entry[1] is not None:
                values[key] = entry[1]
        else:
            stale.append((key, current))
    if stale:
        built = build([key for key, _ in stale])
        cache.set_many({key: (current, built.get(key)) for key, current in stale}, timeout)
        values.update({key: built[key] for key, _ in stale if built.get(key) is not None})
    return values
