"""Celery tasks of the outbox relay; thin: they call store.core.outbox."""

from celery import shared_task

from . import outbox


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=600, max_retries=None)
def outbox_deliver(message_id: int) -> bool:
    return outbox.deliver(message_id)


@shared_task(acks_late=True)
def outbox_relay() -> int:
    return outbox.relay_pending()
