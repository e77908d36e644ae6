"""What reviews do when other apps' events arrive through the outbox (registered in ReviewsConfig.ready). Each
subscriber is idempotent: the outbox delivers at least once."""

from __future__ import annotations

from datetime import datetime

from . import services


def products_deleted(payload: dict) -> None:
    """Subscriber of catalog's ``catalog.products_deleted``: the products' reviews and ratings go with them."""
    services.product_reviews_delete(slugs=payload["slugs"], before=datetime.fromisoformat(payload["at"]))
