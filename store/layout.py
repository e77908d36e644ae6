"""The layout's values for cached pages (settings.PAGECACHE_SHARED_CONTEXT and PAGECACHE_PERSONAL_CONTEXT): the
same context processors every other page gets through settings.TEMPLATES, split into what is the same for every
shopper and what is each shopper's own (filled into a cached page on every view)."""

from cart.context_processors import cart_badge
from catalog.context_processors import categories
from store.core import context_processors as core


def shared() -> dict:
    return {**core.shared(), **categories()}


def personal(request) -> dict:
    return {**core.personal(request), **cart_badge(request)}
