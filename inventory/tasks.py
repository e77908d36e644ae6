"""Celery tasks of inventory; thin: they call services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True)
def release_expired_reservations() -> int:
    """Beat runs this every minute (settings.CELERY_BEAT_SCHEDULE): the expiry half of the checkout saga."""
    return len(services.reservations_release_expired())
