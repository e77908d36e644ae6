"""The checkout queue for overload (flash sales): past CHECKOUT_QUEUE_AFTER checkouts in flight, new ones wait
in line on the dedicated `checkout` Celery queue and run, in arrival order, through services.order_place (so each
is still idempotent). The API answers 202 with a poll URL; the page shows the shopper's place in line."""

from __future__ import annotations

import hashlib
import json
import logging
import time

from celery import current_app
from django.conf import settings

from store.core.exceptions import ApplicationError, InvalidInput

from .models import CheckoutRequest
from .services import order_place
from .types import CheckoutAnswer, IdempotencyKeyRequired, IdempotencyKeyReused, OrderNotFound

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


def _ticket(key: str) -> str:
    return hashlib.sha256(f"checkout:{key}".encode()).hexdigest()[:32]


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


def checkout_enqueue(*, idempotency_key: str | None, body, user_id: int | None) -> CheckoutAnswer:
    """Accept a checkout for later (202 with a poll URL); the `checkout` Celery queue runs it in arrival order."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("Send an Idempotency-Key header (any unique string up to 255 characters).")
    if len(idempotency_key) > 255:
        raise InvalidInput("The Idempotency-Key may be at most 255 characters.", extra={"field": "Idempotency-Key"})
    ticket = _ticket(idempotency_key)
    redis = _redis()
    limit = settings.CHECKOUT_QUEUE_MAX
    if limit is not None and redis.zcard(QUEUE) >= limit and redis.zscore(QUEUE, ticket) is None:
        raise Overloaded("The shop is very busy right now; please try again in a few seconds.")
    stored = json.dumps({"key": idempotency_key, "body": body, "user_id": user_id}, default=str)
    if not redis.set(f"checkout:ticket:{ticket}", stored, nx=True, ex=TICKET_TTL):
        first = json.loads(redis.get(f"checkout:ticket:{ticket}") or "{}")
        if first.get("body") != json.loads(stored)["body"]:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    else:
        redis.zadd(QUEUE, {ticket: time.time()})
        # by name: the task (orders.tasks) sits above services and calls back into them
        current_app.send_task("orders.tasks.checkout_process", args=[ticket], queue="checkout")
    return checkout_poll(ticket=ticket)


def checkout_run_queued(*, ticket: str) -> int:
    """Run one queued checkout (the Celery task); returns the answer's status."""
    stored = _redis().get(f"checkout:ticket:{ticket}")
    if stored is None:
        return 404
    job = json.loads(stored)
    try:
        answer = order_place(idempotency_key=job["key"], body=job["body"], user_id=job["user_id"])
    except ApplicationError as exc:
        answer = CheckoutAnswer(status=exc.status, body=exc.as_dict())
    # Kept for the poll: not every answer is recorded in the database (a sold-out one at the gate never is).
    pipe = _redis().pipeline()
    pipe.set(f"checkout:answer:{ticket}", json.dumps({"status": answer.status, "body": answer.body}, default=str),
             ex=TICKET_TTL)
    pipe.zrem(QUEUE, ticket)
    pipe.execute()
    return answer.status


def checkout_poll(*, ticket: str) -> CheckoutAnswer:
    """A queued checkout: 202 with its place in line while it waits, then the checkout's own final answer."""
    stored = _redis().get(f"checkout:ticket:{ticket}")
    if stored is None:
        raise OrderNotFound()
    answer = _redis().get(f"checkout:answer:{ticket}")
    if answer is not None:
        answer = json.loads(answer)
        return CheckoutAnswer(status=answer["status"], body=answer["body"])
    rank = _redis().zrank(QUEUE, ticket)
    if rank is None:  # out of the line without a kept answer (a worker died just then): the recorded one, if any
        done = CheckoutRequest.objects.filter(key=json.loads(stored)["key"], response_status__isnull=False).first()
        if done is not None:
            return CheckoutAnswer(status=done.response_status, body=done.response_body)
    return CheckoutAnswer(status=202, body={"status": "queued", "position": (rank + 1) if rank is not None else 1,
                                            "poll_url": f"/api/v1/checkout/queue/{ticket}/"})


