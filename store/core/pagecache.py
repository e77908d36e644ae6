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

import functools
import re
import secrets
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.module_loading import import_string

from store.core.cache import bump, versioned

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
    so does every page with settings.PAGECACHE_ENABLED off (``make run``, where a template edit shows at once)."""
    if key is None or not settings.PAGECACHE_ENABLED:
        parts = _render(template, context())
    else:
        parts = versioned(
            f"page:b:{key}", (*scopes, PAGES), lambda: _render(template, context()),  # b: parts as bytes
            timeout=settings.CATALOG_CACHE_SECONDS, near=True,
        )
    personal = personal_context(request)
    if "csrf" in parts[1::2]:
        personal["csrf_token_value"] = get_token(request)
    page = parts.copy()
    # escaped here, whatever the provider did: a plain string is text (markup only from a SafeString)
    page[1::2] = [str(conditional_escape(personal.get(_VARIABLE[name], ""))).encode() for name in parts[1::2]]
    return HttpResponse(b"".join(page))


def clear() -> None:
    """Make every cached page stale, in Redis and in every process's memory (they are rebuilt when next asked)."""
    bump([PAGES])
