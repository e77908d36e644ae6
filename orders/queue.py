"""The checkout queue for overload (flash sales): past CHECKOUT_QUEUE_AFTER checkouts in flight, new ones wait
in line on the dedicated `checkout` Celery queue and run, in arrival order, through checkout.checkout_submit (so
each is still idempotent). The API answers 202 with a poll URL; the page shows the shopper's place in line."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time

from celery import current_app
from django.conf import settings

from store.core.exceptions import ApplicationError

from .types import CheckoutAnswer, IdempotencyKeyReused, TicketNotFound

logger = logging.getLogger(__name__)


class Overloaded(ApplicationError):
    """The line itself is full: shed the load now (503 with Retry-After) rather than let requests time out."""

    code = "overloaded"
    status = 503
    retry_after = 5

QUEUE = "checkout:queue"  # sorted set of waiting tickets by arrival
IN_FLIGHT = "checkout:in-flight"
TICKET_TTL = 3600


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def checkout_slot_take() -> bool:
    """Count one checkout in flight; False (and nothing counted) when the configured limit is reached, so the
    caller queues it instead. No limit configured (or Redis down): always True."""
    limit = settings.CHECKOUT_QUEUE_AFTER
    if limit is None:
        return True
    try:
        redis = _redis()
        pipe = redis.pipeline()
        pipe.incr(IN_FLIGHT)
        pipe.expire(IN_FLIGHT, 60)  # a crashed process's slots lapse
        count = pipe.execute()[0]
        if count > limit:
            redis.decr(IN_FLIGHT)
            return False
        return True
    except Exception:
        logger.warning("checkout in-flight counter unavailable", exc_info=True)
        return True


def checkout_slot_give() -> None:
    if settings.CHECKOUT_QUEUE_AFTER is None:
        return
    try:
        _redis().decr(IN_FLIGHT)
    except Exception:
        logger.warning("checkout in-flight counter unavailable", exc_info=True)


def checkout_enqueue(*, owner: str, key: str, body, user_id: int | None, urls: dict | None = None) -> CheckoutAnswer:
    """Accept a checkout for later (202 with a poll URL); the `checkout` Celery queue runs it in arrival order. Its
    ticket is random (a poll URL must not be guessable from the key); the same owner's same key gets the same one."""
    redis = _redis()
    limit = settings.CHECKOUT_QUEUE_MAX
    ticket = secrets.token_urlsafe(24)
    ticket_of = f"checkout:ticket-of:{hashlib.sha256(f'{owner} {key}'.encode()).hexdigest()[:40]}"
    if not redis.set(ticket_of, ticket, nx=True, ex=TICKET_TTL):
        ticket = (redis.get(ticket_of) or b"").decode()
        first = json.loads(redis.get(f"checkout:ticket:{ticket}") or "{}")
        if first.get("body") != json.loads(json.dumps(body, default=str)):
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
        return checkout_poll(ticket=ticket)
    if limit is not None and redis.zcard(QUEUE) >= limit:
        redis.delete(ticket_of)
        raise Overloaded("The shop is very busy right now; please try again in a few seconds.")
    job = {"key": key, "owner": owner, "body": body, "user_id": user_id, "urls": urls}
    redis.set(f"checkout:ticket:{ticket}", json.dumps(job, default=str), ex=TICKET_TTL)
    redis.zadd(QUEUE, {ticket: time.time()})
    # by name: the task (orders.tasks) sits above this module and calls back into the checkout
    current_app.send_task("orders.tasks.checkout_process", args=[ticket], queue="checkout")
    return checkout_poll(ticket=ticket)


def checkout_job(*, ticket: str) -> dict | None:
    stored = _redis().get(f"checkout:ticket:{ticket}")
    return json.loads(stored) if stored is not None else None


def checkout_answered(*, ticket: str, answer: CheckoutAnswer) -> None:
    """Keep a queued checkout's answer for its poll (not every answer is stored with its key: a sold-out one at
    the gate never is) and take it out of the line."""
    pipe = _redis().pipeline()
    pipe.set(f"checkout:answer:{ticket}", json.dumps({"status": answer.status, "body": answer.body}, default=str),
             ex=TICKET_TTL)
    pipe.zrem(QUEUE, ticket)
    pipe.execute()


def checkout_poll(*, ticket: str, stored_answer=None) -> CheckoutAnswer:
    """A queued checkout: 202 with its place in line while it waits, then the checkout's own final answer.
    ``stored_answer(job)``: what the key answers if the line lost the answer (a worker died just then)."""
    job = checkout_job(ticket=ticket) if isinstance(ticket, str) and len(ticket) <= 64 else None
    if job is None:
        raise TicketNotFound()
    answer = _redis().get(f"checkout:answer:{ticket}")
    if answer is not None:
        answer = json.loads(answer)
        return CheckoutAnswer(status=answer["status"], body=answer["body"])
    rank = _redis().zrank(QUEUE, ticket)
    if rank is None and stored_answer is not None:
        found = stored_answer(job)
        if found is not None:
            return found
    return CheckoutAnswer(status=202, body={"status": "queued", "position": (rank + 1) if rank is not None else 1,
                                            "poll_url": f"/api/v1/checkout/queue/{ticket}/"})
