"""The header's cart badge: a context processor (settings.TEMPLATES), also used by cached pages' fill-ins."""

import functools

from django.utils.functional import lazy

from store.core.requests import has_session

from . import services


def cart_badge(request) -> dict:
    """The number of units in this shopper's cart. Counted once, and only if the page shows it without knowing it
    already (the cart page passes its own); a request without a session has no cart, so it asks Redis nothing."""
    if not has_session(request):
        return {"cart_line_count": 0}
    count = functools.cache(lambda: services.cart_unit_count(token=request.session.get(services.SESSION_KEY)))
    return {"cart_line_count": lazy(count, int)()}
