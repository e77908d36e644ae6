"""The cart's public interface. A cart is a Redis hash ``cart:<token>`` of SKU → quantity (no tables).

The foundation needs only the header badge; adding, changing and checking out carts arrive with the cart issue.
"""

from __future__ import annotations

import logging

from django_redis import get_redis_connection

logger = logging.getLogger(__name__)


def cart_key(token: str) -> str:
    return f"cart:{token}"


def cart_line_count(*, token: str | None) -> int:
    """Number of lines in the cart for the header badge; 0 for no cart, and 0 (logged) if Redis is down."""
    if not token:
        return 0
    try:
        return int(get_redis_connection("default").hlen(cart_key(token)))
    except Exception:  # the badge must never take a page down
        logger.warning("cart badge unavailable", exc_info=True)
        return 0
