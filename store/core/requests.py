"""Small facts about a request that save work on the hottest paths."""

from django.conf import settings


def has_session(request) -> bool:
    """Whether the request carries a session cookie. Without one it has no signed-in shopper and no session data,
    so the lazy session and user need not be loaded to find that out (a first visit, most of a crowd)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES
