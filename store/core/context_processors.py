"""What every page's layout needs that belongs to no app: the shop's name (the same for every shopper), and the
shopper's own greeting, account link and messages, which store.core.pagecache fills into cached pages. The apps
add their own parts (the cart badge, the category menu) with their context processors; store.layout gathers
them all for cached pages."""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.messages import WARNING, get_messages
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join

from store.core.requests import carries_state


def shared() -> dict:
    return {"store_name": settings.STORE_NAME, "return_days": settings.RETURN_WINDOW_DAYS}


@functools.lru_cache(maxsize=16)
def _cached_link(name: str, label: str, script_name: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse(name), label)


def _link(request, name: str, label: str) -> str:
    """reverse() and format_html() cost tens of microseconds, and these links are on every page view: built once
    per deployment prefix (reverse() uses the one Django set from this request's SCRIPT_NAME)."""
    return _cached_link(name, label, request.META.get("SCRIPT_NAME", ""))


def _log_in_link(request) -> str:
    """"Log in", coming back to this page after (its path: the query is a listing's to read, and a cached page's
    addresses that differ only in junk parameters must show the same page); not from the account's own pages."""
    path = request.path
    if request.path != "/" and not request.path.startswith(reverse("accounts:home")) and request.method == "GET":
        return format_html('<a href="{}?{}">Log in</a>', reverse("accounts:login"), urlencode({"next": path}))
    return _link(request, "accounts:login", "Log in")


def _account_links(request) -> str:
    """"Account" and a "Log out" button (logging out is a POST, so a link cannot do it)."""
    return format_html('{} <form method="post" action="{}" class="inline-form"><input type="hidden" '
                       'name="csrfmiddlewaretoken" value="{}"><button type="submit" class="link-button">Log out'
                       '</button></form>', _link(request, "accounts:home", "Account"), reverse("accounts:logout"),
                       get_token(request))


def personal(request) -> dict:
    if not carries_state(request):
        return {"greeting": "", "messages_html": "", "account_links": _log_in_link(request)}
    user = getattr(request, "user", None)
    greeting = ""
    if user is not None and user.is_authenticated:
        greeting = format_html('<span class="muted">Hi, {}</span>', user.get_short_name() or user.get_username())
    items = format_html_join("", '<p class="message message-{}" role="{}">{}</p>',
                             ((escape(m.tags), "alert" if m.level >= WARNING else "status", m)
                              for m in get_messages(request)))
    signed_in = user is not None and user.is_authenticated
    account_links = _account_links(request) if signed_in else _log_in_link(request)
    return {
        "greeting": greeting,
        "account_links": account_links,
        "messages_html": format_html('<div class="container messages">{}</div>', items) if items else "",
    }


def shop(request):
    return {**shared(), **personal(request)}
