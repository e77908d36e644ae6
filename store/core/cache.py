"""Versioned cache entries: exact invalidation without races, in two Redis round trips per read (none for hot
pages, which each process keeps in memory).

An entry is stored as (versions, value), where versions are the counters ("generations") of everything it was
built from, read *before* building. A reader fetches the current counters, then the entry, and uses the entry
only if they match; a writer commits its change, then bumps the counters. So an entry built from data read
before a commit can never be served after the bump, whichever order racing builders store in.

Hot entries (whole pages) can also be kept in each process's memory (``near=True``; store.core.nearcache), where
Redis's invalidation messages for the counters keep them exact without a round trip per read.

The entries live in the evictable cache (settings.CACHE_ALIAS: a Redis that drops the least recently used under
memory pressure; a dropped entry is rebuilt); the counters live in the default Redis, which evicts nothing. A counter
must never be evicted: recreated from zero, it could match an old entry built at that value and serve it stale.
Every entry's key also carries the deployed code's release (``release()``), so a new release never reads an
entry the old code built (a template edit shows at once after a restart).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django_redis import get_redis_connection

from store.core import nearcache, replicas

logger = logging.getLogger(__name__)
REBUILD_LOCK_S = 5  # how long a rebuild may hold its lock (a crashed builder frees it by then)
REBUILD_WAIT_S = 1.0  # how long others wait for it before building themselves


VERSION_PREFIX = "gen:"
# With read replicas, a scope's bump also leaves "changed lately" for replicas.fresh_seconds(): an entry of that scope
# rebuilt meanwhile is built from the primary (replicas.fresh_reads). Built from a replica that has not replayed the
# change yet, it would be kept at the new versions, stale until the next change.
CHANGED_PREFIX = "changed:"
# what the code, templates and static files (whose hashed names pages carry) that build an entry are made of
CODE_SUFFIXES = {".py", ".html", ".txt", ".lua", ".css", ".js"}
NOT_CODE = {"node_modules", "tests", "bench", "docs", "__pycache__"}  # and hidden folders (.venv, .data, .git)


def version_key(scope: str) -> str:
    return f"{VERSION_PREFIX}{scope}"


@functools.cache
def release() -> str:
    """The deployed code's id: settings.RELEASE, else a hash of the project's code and templates, taken once per
    process (a few milliseconds)."""
    return settings.RELEASE[:40] if settings.RELEASE else code_hash(Path(settings.BASE_DIR))


def code_hash(root: Path) -> str:
    """A hash of the names and contents of the code, template and static files under ``root``."""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted(_code_files(root)):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _code_files(folder: Path):
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name not in NOT_CODE and not entry.name.startswith("."):
            yield from _code_files(entry)
        elif entry.suffix in CODE_SUFFIXES and entry.is_file():
            yield entry


def entries_cache():
    """The evictable cache that holds the entries (never the default one, whose Redis keeps carts and sessions)."""
    return caches[settings.CACHE_ALIAS]


def _fresh(entry, current: tuple) -> bool:
    return isinstance(entry, tuple) and len(entry) == 2 and entry[0] == current


@dataclass(frozen=True)
class Pending:
    """What peek() learnt on a miss: where the value goes and the counters read before building it."""

    key: str
    versions: dict[str, Any]
    epoch: int | None
    near: bool
    changed_lately: bool = False  # a scope was bumped within replicas.fresh_seconds(): build from the primary


def peek(key: str, scopes: Iterable[str], *, near: bool = False) -> tuple[Any, Pending | None]:
    """(the value under ``key`` if it was built at the scopes' current versions, None) or, when there is none,
    (nearcache.MISSING, what to pass to put() with the value once it is built from data read after this call)."""
    value, pending, _ = _peek(key, scopes, near=near)
    return value, pending


def _peek(key: str, scopes: Iterable[str], *, near: bool) -> tuple[Any, Pending | None, tuple | None]:
    """peek(), and on a hit the versions the value was built at."""
    key = f"{release()}:{key}"
    scopes = list(scopes)
    keys = [version_key(s) for s in scopes]
    local = nearcache.tracker(VERSION_PREFIX) if near else None
    epoch = None
    if local is not None:
        epoch, value, at = local.lookup_at(key, keys)
        if value is not nearcache.MISSING:
            return value, None, at
    changed = _changed_keys(scopes)
    found = cache.get_many(keys + changed)  # the counters first: an entry read after them is checked against them
    pending = Pending(key, {k: found.get(k, 0) for k in keys}, epoch, near, any(k in found for k in changed))
    entry = entries_cache().get(key)
    if _fresh(entry, tuple(pending.versions.values())):
        _keep_near(pending, entry[1])
        return entry[1], None, entry[0]
    return nearcache.MISSING, pending, None


def _changed_keys(scopes: Iterable[str]) -> list[str]:
    return [f"{CHANGED_PREFIX}{s}" for s in scopes] if settings.DATABASE_REPLICAS else []


def put(pending: Pending, value: Any, *, timeout: int) -> None:
    """Store ``value``, built from data read after peek() gave ``pending``, at the versions peek() read."""
    entries_cache().set(pending.key, (tuple(pending.versions.values()), value), timeout)
    _keep_near(pending, value)


def _keep_near(pending: Pending, value: Any) -> None:
    local = nearcache.tracker(VERSION_PREFIX) if pending.near else None
    if local is not None:
        local.remember(pending.epoch, pending.key, pending.versions, value)


def versioned(key: str, scopes: Iterable[str], build: Callable[[], Any], *, timeout: int,
              is_miss: Callable[[Any], bool] = lambda value: False, miss_timeout: int = 60,
              near: bool = False) -> Any:
    """The value under ``key`` if it was built at the scopes' current versions; else ``build()`` it and store it.
    ``near``: also keep it in this process's memory (store.core.nearcache), for values read on every page view."""
    return versioned_at(key, scopes, build, timeout=timeout, is_miss=is_miss, miss_timeout=miss_timeout,
                        near=near)[0]


def versioned_at(key: str, scopes: Iterable[str], build: Callable[[], Any], *, timeout: int,
                 is_miss: Callable[[Any], bool] = lambda value: False, miss_timeout: int = 60,
                 near: bool = False) -> tuple[Any, tuple]:
    """versioned(), and the scopes' versions the value was built at: what anything made from the value may be
    stored at (a near copy can be a moment behind versions just read from Redis)."""
    value, pending, at = _peek(key, scopes, near=near)
    if pending is None:
        return value, at
    current = tuple(pending.versions.values())
    store = entries_cache()
    # Single flight: under a crowd, one request rebuilds an entry while the others wait briefly for it, so an
    # invalidated hot page costs the database one build, not one per shopper. Nobody is served stale data.
    lock = f"rebuild:{pending.key}:{'.'.join(map(str, current))}"
    added = store.add(lock, 1, timeout=REBUILD_LOCK_S)  # None: Redis is down (IGNORE_EXCEPTIONS); just build
    if added is False:
        deadline = time.monotonic() + REBUILD_WAIT_S
        while time.monotonic() < deadline:
            time.sleep(0.01)  # another request is building this very entry
            entry = store.get(pending.key)
            if _fresh(entry, current):
                return entry[1], current
    elif added:
        entry = store.get(pending.key)  # built by the one who held the lock just before us?
        if _fresh(entry, current):
            store.delete(lock)
            return entry[1], current
    try:
        with replicas.fresh_reads(pending.changed_lately):
            value = build()
        if is_miss(value):
            store.set(pending.key, (current, value), miss_timeout)
        else:
            put(pending, value, timeout=timeout)
    finally:
        store.delete(lock)
    return value, current


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
        if settings.DATABASE_REPLICAS:
            for scope in scopes:
                pipe.set(cache.make_key(f"{CHANGED_PREFIX}{scope}"), 1, px=int(replicas.fresh_seconds() * 1000))
        pipe.execute()
        if settings.PAGECACHE_NEAR_ENTRIES > 0:
            # Redis hands out broadcast invalidations before it answers any later command: once this returns,
            # every process's near cache has the message in its socket and reads it before its next page view
            redis.ping()
    except Exception:  # Redis down: nothing can be read from it either; entries also expire on their own
        logger.exception("could not bump cache versions %s", scopes)


def versioned_many(entries: dict[str, tuple[str, ...]], build: Callable[[list[str]], dict[str, Any]], *,
                   timeout: int, near: bool = False) -> dict[str, Any]:
    """Many versioned entries in one MGET: ``entries`` maps each cache key to the scopes it depends on; the keys
    whose entries are missing or stale are built together by ``build(keys)`` (which may leave out keys that have
    no value) and stored. Returns key -> value. ``near``: also keep them in this process's memory
    (store.core.nearcache), for values read on every view; never for what must be exact at the moment it is read
    (a checkout's prices), since a silently dead invalidation connection is trusted for PAGECACHE_NEAR_SECONDS."""
    if not entries:
        return {}
    prefix = f"{release()}:"
    local = nearcache.tracker(VERSION_PREFIX) if near else None
    values: dict[str, Any] = {}
    epoch = None
    if local is not None:
        pending = {}
        for key, scopes in entries.items():
            seen, value = local.lookup(prefix + key, [version_key(s) for s in scopes])
            epoch = seen if epoch is None else epoch  # the first lookup's: the earliest
            if value is nearcache.MISSING:
                pending[key] = scopes
            elif value is not None:
                values[key] = value
        if not pending:
            return values
        entries = pending
    all_scopes = sorted({s for scopes in entries.values() for s in scopes})
    changed = _changed_keys(all_scopes)
    versions = cache.get_many([version_key(s) for s in all_scopes] + changed)
    found = entries_cache().get_many([prefix + key for key in entries])
    stale, known = [], {}
    for key, scopes in entries.items():
        current = tuple(versions.get(version_key(s), 0) for s in scopes)
        entry = found.get(prefix + key)
        if _fresh(entry, current):
            known[key] = (current, entry[1])
        else:
            stale.append((key, current))
    if stale:
        with replicas.fresh_reads(any(k in versions for k in changed)):
            built = build([key for key, _ in stale])
        entries_cache().set_many({prefix + key: (current, built.get(key)) for key, current in stale}, timeout)
        known.update({key: (current, built.get(key)) for key, current in stale})
    for key, (current, value) in known.items():
        if value is not None:
            values[key] = value
        if local is not None:
            local.remember(epoch, prefix + key, dict(zip((version_key(s) for s in entries[key]), current,
                                                         strict=True)), value)
    return values
