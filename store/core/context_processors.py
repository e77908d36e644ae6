"""What every page's layout needs: the shop's name and category menu (the same for every shopper), and the
shopper's own bits (cart badge, greeting, messages), which store.core.pagecache fills into cached pages."""

import functools

from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import get_script_prefix, reverse
from django.utils.html import escape, format_html, format_html_join

from cart import services as cart_services
from catalog import services as catalog_services


def shared() -> dict:
    return {"store_name": settings.STORE_NAME, "menu_categories": catalog_services.category_menu()}


@functools.lru_cache(maxsize=8)
def _url(name: str, prefix: str) -> str:
    return reverse(name)


def _link(name: str) -> str:
    """reverse() costs tens of microseconds, and these links are on every page view: once per name and prefix."""
    return _url(name, get_script_prefix())


def personal(request) -> dict:
    user = getattr(request, "user", None)
    greeting = ""
    if user is not None and user.is_authenticated:
        greeting = format_html('<span class="muted">Hi, {}</span>', user.get_short_name() or user.get_username())
    items = format_html_join("", '<p class="message message-{}" role="status">{}</p>',
                             ((escape(m.tags), m) for m in get_messages(request)))
    if user is not None and user.is_authenticated:
        account_links = format_html('<a href="{}">Account</a>', _link("accounts:home"))
    else:
        account_links = format_html('<a href="{}">Log in</a>', _link("accounts:login"))
    return {
        "cart_line_count": cart_services.cart_line_count(token=request.session.get(cart_services.SESSION_KEY)),
        "greeting": greeting,
        "account_links": account_links,
        "messages_html": format_html('<div class="container messages">{}</div>', items) if items else "",
    }


def shop(request):
    return {**shared(), **personal(request)}
