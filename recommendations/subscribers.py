"""The events the recommender learns from. Each names an order; the order is read back and counted as it stands
(services.order_learn), so the events' order and repetition do not matter."""

from __future__ import annotations

import logging

from django.db import transaction

from . import services

logger = logging.getLogger(__name__)

# order.paid {"number"}; order.refunded {"number", …} (the refund's record, units given back included);
# payment.refunded {"order_reference", …} (a refund made at the gateway). Named here rather than imported: the
# payments app's and orders' constants are the same strings.
TOPICS = ("order.paid", "order.refunded", "payment.refunded")


def order_changed(payload: dict) -> None:
    """Learn the order. A failure here is logged and skipped, never raised: the outbox runs every subscriber of a
    message in one transaction, and the recommender must not hold back or repeat the receipt e-mail."""
    number = payload.get("number") or payload.get("order_reference")
    if not number:
        return
    try:
        with transaction.atomic():  # a savepoint: a failure rolls back only the recommender's writes
            services.order_learn(number=str(number))
    except Exception:
        logger.exception("recommendations: could not learn order %s; it counts again at its next event", number)
