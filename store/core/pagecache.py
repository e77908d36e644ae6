"""Whole-page caching that stays personal: a page is rendered once with markers where the shopper's own bits go
(cart badge, greeting, messages, CSRF token), kept in Redis, and each request only fills in that shopper's values.
The page is kept split at its markers, so filling it in is one join; hot pages are also kept in each web process's
memory (store.core.nearcache), so a flash-sale crowd's page view asks Redis nothing while nothing changes.

Keys carry the catalogue's cache generations, so invalidation stays exact (see catalog.selectors), and the deployed
code's release (store.core.cache.release), so a template edit shows at once after a restart. Which values
are shared and which personal is configured in settings (PAGECACHE_*), like Django's context processors, so that
an app's view can use this without depending on the apps that provide those values (the cart, for the badge).
"""

from __future__ import annotations

import collections
import functools
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import conditional_escape
from django.utils.module_loading import import_string

from store.core.cache import bump, peek, put, versioned_at
from store.core.requests import carries_state

MARK = "\x1e"  # an ASCII record separator around each marker
# context variable -> the marker's name (the template shows the variable, so the marker, where the value goes)
FIELDS = {
    "cart_line_count": "cart-count",
    "greeting": "greeting",
    "account_links": "account-links",
    "messages_html": "messages",
    "csrf_token_value": "csrf",
}
_VARIABLE = {name: variable for variable, name in FIELDS.items()}
PAGES = "pages"  # a scope every cached page depends on: bumping it (clear_page_cache) makes them all stale
# addresses SharedPageMiddleware knows the page of, at the least (with the near cache off, pages come from Redis)
ADDRESSES_KEPT = 1000


@functools.lru_cache(maxsize=4)
def _function(path: str):
    return import_string(path)


def personal_context(request) -> dict:
    return _function(settings.PAGECACHE_PERSONAL_CONTEXT)(request)


def shared_context() -> dict:
    return _function(settings.PAGECACHE_SHARED_CONTEXT)()


def _render(template: str, context: dict) -> list:
    """The page split at its markers: literal parts as UTF-8 bytes (joined as they are on every view, with no
    encoding), marker names as text.

    Each rendering marks the places with a secret of its own (MARK, 16 random hex digits, the name, MARK), so
    nothing in the shop's data (a product named like a marker) can make a place to fill in: text that looks like
    a marker without this rendering's secret stays text."""
    secret = secrets.token_hex(8)
    placeholders = {variable: f"{MARK}{secret}{name}{MARK}" for variable, name in FIELDS.items()}
    split = re.compile(f"{MARK}{secret}({'|'.join(map(re.escape, FIELDS.values()))}){MARK}")
    parts = split.split(render_to_string(template, {**shared_context(), **context, **placeholders}))
    parts[0::2] = [part.encode() for part in parts[0::2]]
    return parts


def cached_page(request, *, key: str | None, scopes: Iterable[str], template: str,
                context: Callable[[], dict]) -> HttpResponse:
    """Render ``template`` once per ``key`` and version of its ``scopes`` (and of the deployed code), with markers
    (``context()`` is called only then), and fill in this shopper's values on every request.

    ``key`` must name everything the page shows, in canonical form (no parameter the view ignores), so that any
    number of addresses showing one page make one entry. ``key=None`` renders the page for this request only;
    so does every page with settings.PAGECACHE_ENABLED off (``make run``, where a template edit shows at once).

    A visitor without state (no session, no messages: carries_state) gets the page every such visitor gets, with
    no CSRF token in its forms (static/js/csrf.js fetches one when a form is sent; without JavaScript,
    store.core.views.csrf_failure asks to confirm) and no cookie set, so SharedPageMiddleware, or any HTTP cache
    in front, can hand the same bytes to the next one."""
    scopes = (*scopes, PAGES)
    built_at = None
    if key is None or not settings.PAGECACHE_ENABLED:
        parts = _render(template, context())
    else:
        parts, built_at = versioned_at(
            f"page:b:{key}", scopes, lambda: _render(template, context()),  # b: parts as bytes
            timeout=settings.CATALOG_CACHE_SECONDS, near=True,
        )
    personal = personal_context(request)
    shared = key is not None and settings.PAGECACHE_ENABLED and not carries_state(request)
    if "csrf" in parts[1::2] and not shared:
        personal["csrf_token_value"] = get_token(request)
    page = parts.copy()
    # escaped here, whatever the provider did: a plain string is text (markup only from a SafeString)
    page[1::2] = [str(conditional_escape(personal.get(_VARIABLE[name], ""))).encode() for name in parts[1::2]]
    response = HttpResponse(b"".join(page))
    if shared:
        response.shared_page = SharedPage(f"page:s:{key}:{request.path}", scopes, built_at)
        patch_cache_control(response, public=True, max_age=0, s_maxage=settings.PAGECACHE_SHARED_SECONDS)
    else:
        patch_cache_control(response, private=True)
    patch_vary_headers(response, ["Cookie"])
    return response


class SharedPage(NamedTuple):
    """Where a stateless visitor's page is kept (its key names the address's path too: the "Log in" link comes
    back to it), the scopes it was built from, and their versions its parts were built at."""

    key: str
    scopes: tuple[str, ...]
    built_at: tuple | None

    def same_place(self, other: SharedPage | None) -> bool:
        return other is not None and (self.key, self.scopes) == (other.key, other.scopes)


class SharedPageMiddleware:
    """Django's cache-middleware pattern for the pages cached_page() builds: a stateless visitor's page is served
    from this process's memory (or Redis) before the session, CSRF, authentication and messages middleware run,
    which is most of what a page view costs. Exact like the rest of the page cache: an entry is kept with the
    versions of everything it was built from and checked against them (store.core.cache.peek), and Redis's
    invalidation messages keep the in-memory copies exact without a round trip (store.core.nearcache).

    The middleware does not know a page's key and scopes until its view has answered once, so it learns them per
    address (path and query) from the responses cached_page() marks as shared, keeping the last
    PAGECACHE_NEAR_ENTRIES addresses (ADDRESSES_KEPT at the least: with the near cache off, the pages still come
    from Redis); many addresses of one page (junk parameters) share the one stored page.
    A response is stored only if it answers a GET, only if nothing on its way set a cookie (then it is private,
    for any cache in front too), and only after a request that read the versions before the view did, so a page
    built before an edit is never stored as current."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._addresses: collections.OrderedDict[str, SharedPage] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, request):
        if request.method not in ("GET", "HEAD") or not settings.PAGECACHE_ENABLED or carries_state(request):
            return self.get_response(request)
        # a host the shop does not serve gets 400 (DisallowedHost) here, as CommonMiddleware would answer it, not
        # a stored page
        request.get_host()
        address = request.get_full_path()
        with self._lock:
            known = self._addresses.get(address)
        pending = None
        if known is not None:
            stored, pending = peek(known.key, known.scopes, near=True)
            if pending is None:
                return _replay(stored)
        response = self.get_response(request)
        shared = getattr(response, "shared_page", None)
        if shared is None or response.status_code != 200 or response.streaming:
            return response
        if response.cookies:  # set on its way (the session, a message, the CSRF token): this visitor's own page
            del response["Cache-Control"]
            patch_cache_control(response, private=True)
            return response
        with self._lock:
            self._addresses[address] = shared
            self._addresses.move_to_end(address)
            while len(self._addresses) > max(settings.PAGECACHE_NEAR_ENTRIES, ADDRESSES_KEPT):
                self._addresses.popitem(last=False)
        # Stored only at the versions its parts were built at: this process's near copy of them may be a moment
        # behind the versions just read from Redis (an edit's invalidation message still on its way), and stored
        # at the newer ones the old page would outlive the edit. Only a GET's answer: a HEAD's may differ (the
        # log-in link comes back only to a GET).
        if (pending is not None and shared.same_place(known) and request.method == "GET"
                and shared.built_at == tuple(pending.versions.values())):
            put(pending, (response.status_code, tuple(response.items()), response.content),
                timeout=settings.CATALOG_CACHE_SECONDS)
        return response


def _replay(stored) -> HttpResponse:
    status, headers, content = stored
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    return response


def clear() -> None:
    """Make every cached page stale, in Redis and in every process's memory (they are rebuilt when next asked)."""
    bump([PAGES])
