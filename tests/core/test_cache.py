"""Versioned entries: a stale one is never served, and a crowd missing the same entry builds it once."""

import threading
from concurrent.futures import ThreadPoolExecutor

from store.core import cache as versioned_cache


def test_a_bumped_scope_is_never_served_stale():
    versioned_cache.versioned("t:1", ("s1",), lambda: "old", timeout=60)
    versioned_cache.bump(["s1"])
    assert versioned_cache.versioned("t:1", ("s1",), lambda: "new", timeout=60) == "new"


def test_a_crowd_missing_one_entry_builds_it_once():
    builds = []
    started = threading.Event()
    release = threading.Event()

    def build():
        builds.append(1)
        started.set()
        release.wait(5)  # hold the build open until the crowd has arrived
        return "page"

    def shopper(i):
        if i == 0:
            return versioned_cache.versioned("t:hot", ("hot",), build, timeout=60)
        started.wait(5)
        if i == 19:
            release.set()
        return versioned_cache.versioned("t:hot", ("hot",), build, timeout=60)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(shopper, range(20)))
    assert results == ["page"] * 20
    assert len(builds) == 1
