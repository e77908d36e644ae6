"""The header's category menu: a context processor (settings.TEMPLATES), also used by cached pages."""

from . import services


def categories(request=None) -> dict:
    """Top-level categories, the same for every shopper (cached by the catalogue); ``request`` is not needed, so
    cached pages call this without one."""
    return {"menu_categories": services.category_menu()}
