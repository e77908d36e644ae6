"""Celery tasks of orders; thin: they call services."""

from celery import shared_task

from . import checkout


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def checkout_process(ticket: str) -> int:
    """A queued checkout (flash-sale overload), run in arrival order on the dedicated `checkout` queue."""
    return checkout.checkout_run_queued(ticket=ticket)
