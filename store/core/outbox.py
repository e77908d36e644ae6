"""Publishing to and relaying from the transactional outbox.

``publish(topic, payload)`` writes a row inside the caller's transaction, so the event exists if and only if the
change it announces committed. After commit the relay is nudged through Celery; a beat task also sweeps pending
rows, so a lost broker or a dead worker delays an event but never drops it. Each event is queued on the Celery
queue of its topic (queue_of), so slow e-mails or indexing never hold back the events that settle payments.
Delivery is at least once: every subscriber must be idempotent. Subscribers register by topic from their
AppConfig.ready (a higher app listening to a lower one), so no import runs upward.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)
_subscribers: dict[str, list[Callable[[dict], None]]] = defaultdict(list)
MAX_BACKOFF = timedelta(minutes=10)


def subscribe(topic: str, handler: Callable[[dict], None]) -> None:
    if handler not in _subscribers[topic]:
        _subscribers[topic].append(handler)


def publish(topic: str, payload: dict) -> int:
    """Record an event in the current transaction; it is relayed once that transaction commits."""
    message = OutboxMessage.objects.create(topic=topic, payload=payload)
    published(message.pk, topic)
    return message.pk


def publish_sql(*, rows: str, payload: str) -> str:
    """What publish() does, as SQL for a caller to run inside a statement of its own (a data-modifying CTE), so a
    change and its event cost one round trip: one message per row of ``rows`` (a CTE's name), its payload the jsonb
    expression ``payload`` over that row's columns, its topic the parameter %(outbox_topic)s. It returns each
    message's id, to be passed to published() in the same transaction."""
    table = OutboxMessage._meta.db_table
    return (f"INSERT INTO {table} (topic, payload, created_at, delivered_at, attempts, next_attempt_at, "  # noqa: S608
            f"last_error) SELECT %(outbox_topic)s, {payload}, now(), NULL, 0, now(), '' FROM {rows} RETURNING id")


def published(message_id: int, topic: str) -> None:
    """Relay a message written in the current transaction once that transaction commits."""
    transaction.on_commit(lambda: _nudge(message_id, topic))


def queue_of(topic: str) -> str:
    """The Celery queue that delivers ``topic``: settings.OUTBOX_TOPIC_QUEUES (e-mails and search indexing have
    workers of their own), else the task's own route."""
    return settings.OUTBOX_TOPIC_QUEUES.get(topic) or settings.CELERY_TASK_ROUTES[_DELIVER]["queue"]


_DELIVER = "store.core.tasks.outbox_deliver"


def _nudge(message_id: int, topic: str) -> None:
    from .tasks import outbox_deliver  # Celery wiring stays out of the writer's import path

    try:
        outbox_deliver.apply_async((message_id,), queue=queue_of(topic))
    except Exception:  # broker down: the periodic sweep delivers it later
        logger.warning("outbox: could not queue message %s; the sweep will deliver it", message_id, exc_info=True)


def deliver(message_id: int) -> bool:
    """Run the subscribers of one message, once. Returns True if it is delivered now (or already was).

    The subscribers run in the same transaction that marks the message delivered, so their database changes and
    the mark commit together: a crash in between redelivers, and a redelivery finds the mark."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=message_id).first()
        if message is None:  # gone, or another worker is delivering it right now
            return False
        if message.delivered_at is not None:
            return True
        try:
            with transaction.atomic():
                for handler in _subscribers.get(message.topic, []):
                    handler(message.payload)
        except Exception as exc:
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = timezone.now() + min(timedelta(seconds=2 ** message.attempts), MAX_BACKOFF)
            message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.exception("outbox: %s failed (attempt %s)", message, message.attempts)
            return False
        message.delivered_at = timezone.now()
        message.attempts += 1
        message.save(update_fields=["delivered_at", "attempts"])
        return True


def pending_ids(limit: int = 500) -> list[int]:
    return list(
        OutboxMessage.objects.filter(delivered_at__isnull=True, next_attempt_at__lte=timezone.now())
        .order_by("id").values_list("id", flat=True)[:limit]
    )


def relay_pending(limit: int = 500) -> int:
    """Deliver whatever is due (the beat sweep); returns how many were delivered."""
    return sum(1 for message_id in pending_ids(limit) if deliver(message_id))
