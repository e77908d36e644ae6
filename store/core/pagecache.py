"""Whole-page caching that stays personal: a page is rendered once with markers where the shopper's own bits go
(cart badge, greeting, messages, CSRF token), kept in Redis, and each request only swaps the markers for that
shopper's values. A flash-sale crowd then costs two Redis reads and a string replace per page view.

Keys carry the catalogue's cache generations, so invalidation stays exact (see catalog.selectors). Which values
are shared and which personal is configured in settings (PAGECACHE_*), like Django's context processors, so that
an app's view can use this without depending on the apps that provide those values (the cart, for the badge).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.module_loading import import_string

from store.core.cache import versioned

MARK = "\x1e"  # an ASCII record separator: never in text a template produces from shop data (escaped or not)
CART_COUNT = f"{MARK}cart-count{MARK}"
GREETING = f"{MARK}greeting{MARK}"
ACCOUNT_LINKS = f"{MARK}account-links{MARK}"
MESSAGES = f"{MARK}messages{MARK}"
CSRF_TOKEN = f"{MARK}csrf{MARK}"
PLACEHOLDERS = {
    "cart_line_count": CART_COUNT,
    "greeting": GREETING,
    "account_links": ACCOUNT_LINKS,
    "messages_html": MESSAGES,
    "csrf_token_value": CSRF_TOKEN,
}


def personal_context(request) -> dict:
    return import_string(settings.PAGECACHE_PERSONAL_CONTEXT)(request)


def shared_context() -> dict:
    return import_string(settings.PAGECACHE_SHARED_CONTEXT)()


def cached_page(request, *, key: str, scopes: Iterable[str], template: str,
                context: Callable[[], dict]) -> HttpResponse:
    """Render ``template`` once per ``key`` and version of its ``scopes``, with markers (``context()`` is called
    only then), and fill in this shopper's values on every request."""
    html = versioned(
        f"page:{key}", scopes,
        lambda: render_to_string(template, {**shared_context(), **context(), **PLACEHOLDERS}),
        timeout=settings.CATALOG_CACHE_SECONDS,
    )
    personal = personal_context(request)
    if CSRF_TOKEN in html:
        personal["csrf_token_value"] = get_token(request)
    for name, marker in PLACEHOLDERS.items():
        if marker in html:
            html = html.replace(marker, str(personal.get(name, "")))
    return HttpResponse(html)
