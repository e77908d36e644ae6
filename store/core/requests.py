"""Small facts about a request that save work on the hottest paths."""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage


def has_session(request) -> bool:
    """Whether the request carries a session cookie. Without one it has no signed-in shopper and no session data,
    so the lazy session and user need not be loaded to find that out (a first visit, most of a crowd)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES


def carries_state(request) -> bool:
    """Whether the request can have a signed-in shopper, a cart or messages: all live in the session or the
    messages cookie. A request with neither (a first visit, most of a crowd, any crawler) is anonymous and
    stateless: every such visitor is shown the same bytes of a cached page (store.core.pagecache)."""
    return has_session(request) or CookieStorage.cookie_name in request.COOKIES
