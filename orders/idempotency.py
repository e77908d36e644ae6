"""Idempotency-Keys for checkout, as Stripe designs them: one key, one stored answer, and the key belongs to who
sent it.

Whose key: a signed-in shopper's (by account), or an anonymous client's (by the cart it checks out, whose token is
that client's only secret). The same key from someone else is simply another key: it neither replays the first
answer (which holds the order's secret link) nor blocks them.

The first request with a key claims it (one row) and holds a PostgreSQL advisory lock on the claim while it runs.
The lock ends with its connection, so a later request with the key can tell a first request still running (it
waits for the answer, then 409 ``idempotency_in_progress``) from one whose process died (it carries on in its
place). Only final answers are stored and replayed. A checkout whose payment is still being decided (202) stores
none: a replay reads the order it made, so once the order settles the key answers with it. A refusal that changed
nothing and may pass later (429, 503), or a crash before any order existed, gives the key back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django_redis import get_redis_connection

from store.core.exceptions import InvalidInput

from .models import CheckoutRequest
from .types import CheckoutAnswer, IdempotencyInProgress, IdempotencyKeyRequired, IdempotencyKeyReused

logger = logging.getLogger(__name__)
LOCK_BASE = 0x4B4559 << 32  # advisory lock ids of checkout claims: this + the claim's id
WAIT_S = 10  # how long a repeat waits for a first request still running
REMEMBER_S = 24 * 3600  # how long Redis remembers a claimed key (see ``remembered``)
FINAL = frozenset({201, 400, 402, 404, 409, 422})  # answers that stay true for the key; others are not stored
SECRET_FIELDS = ("access_token", "url")  # an answer's parts that carry the order's secret


def key_checked(key: str | None) -> str:
    if not key:
        raise IdempotencyKeyRequired("Send an Idempotency-Key header (any unique string up to 255 characters).")
    if len(key) > 255 or not key.isprintable():
        raise InvalidInput("The Idempotency-Key must be 1 to 255 printable characters.",
                           extra={"field": "Idempotency-Key"})
    return key


def owner_of(*, user_id: int | None, cart_token: str) -> str:
    if user_id is not None:
        return f"user:{user_id}"
    return f"cart:{hashlib.sha256(cart_token.encode()).hexdigest()[:40]}"


def fingerprint(body) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _memo(owner: str, key: str) -> str:
    digest = hashlib.sha256(f"{owner} {key}".encode()).hexdigest()[:40]
    return f"checkout:key:{digest}"


def remembered(*, owner: str, key: str) -> bool:
    """Whether this key was claimed before, asked of Redis alone: a flash sale's sold-out answer must not cost
    PostgreSQL, yet a retry of a checkout that went through must get its own answer, not "sold out"."""
    try:
        return bool(get_redis_connection("default").exists(_memo(owner, key)))
    except Exception:
        logger.warning("checkout: claimed keys unavailable in Redis", exc_info=True)
        return False


@dataclass
class Claim:
    """A key claimed by this request (``fresh``) or found claimed by an earlier one."""

    id: int
    owner: str
    key: str
    fresh: bool
    locked: bool = False

    def finish(self, answer: CheckoutAnswer) -> CheckoutAnswer:
        """Store a final answer (anything else, and the key answers from its order, or may run again), unlock. The
        order's secret is not stored with it (orders keep only its hash): a replay derives it again."""
        try:
            if answer.status in FINAL:
                stored = {k: v for k, v in answer.body.items() if k not in SECRET_FIELDS}
                with connection.cursor() as cursor:
                    cursor.execute(_FINISH_SQL, {"status": answer.status, "body": json.dumps(stored), "id": self.id,
                                                 "lock": LOCK_BASE + self.id, "locked": self.locked})
                    self.locked = self.locked and cursor.fetchone() is None  # unlocked by the statement
            elif answer.status in (429, 503):
                self.give_back()
        finally:
            self.unlock()
        return answer

    def give_back(self) -> None:
        """Nothing happened that the key must remember (no order was made): the same key may try again."""
        CheckoutRequest.objects.filter(pk=self.id, order_number="", response_status__isnull=True).delete()

    def unlock(self) -> None:
        if self.locked:
            self.locked = False
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_BASE + self.id])

    def try_lock(self) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_BASE + self.id])
            self.locked = cursor.fetchone()[0]
        return self.locked


# Stores the answer and lets go of the claim's lock in one statement. The lock goes while the UPDATE still holds
# the row, before the COMMIT: a repeat that takes the lock in that moment reads the row under its row lock
# (_read_settled), so it waits for this COMMIT and finds the answer.
_FINISH_SQL = f"""
    UPDATE {CheckoutRequest._meta.db_table}
    SET response_status = %(status)s, response_body = %(body)s::jsonb, completed_at = now()
    WHERE id = %(id)s
    RETURNING CASE WHEN %(locked)s THEN pg_advisory_unlock(%(lock)s) END
"""  # noqa: S608 (our table's name; every value is a bound parameter)


def claim(*, owner: str, key: str, request_hash: str) -> Claim:
    """Claim the key (and lock the claim) in one statement, or find the earlier claim. The same key with another
    request is IdempotencyKeyReused."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH claimed AS (
                    INSERT INTO {CheckoutRequest._meta.db_table} (owner, key, request_hash, order_number, created_at)
                    VALUES (%s, %s, %s, '', now()) ON CONFLICT (owner, key) DO NOTHING RETURNING id)
                SELECT id, pg_advisory_lock(%s + id) IS NOT NULL FROM claimed""",  # noqa: S608 (our table's name)
            [owner, key, request_hash, LOCK_BASE])
        row = cursor.fetchone()
    if row is not None:
        try:
            get_redis_connection("default").set(_memo(owner, key), 1, ex=REMEMBER_S)
        except Exception:
            logger.warning("checkout: could not remember the key in Redis", exc_info=True)
        return Claim(id=row[0], owner=owner, key=key, fresh=True, locked=True)
    earlier = CheckoutRequest.objects.get(owner=owner, key=key)
    if earlier.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
    return Claim(id=earlier.pk, owner=owner, key=key, fresh=False)


def replay(found: Claim, *, from_order: Callable[[str], CheckoutAnswer],
           run_again: Callable[[Claim], CheckoutAnswer]) -> CheckoutAnswer:
    """The answer for a key claimed before: its stored answer; else, once no request is running with it, the
    answer its order gives now (``from_order``), or, if it died before making one, the checkout run again in its
    place (``run_again``, with the claim locked). Meanwhile wait a little, then IdempotencyInProgress."""
    deadline = time.monotonic() + WAIT_S
    while True:
        request = CheckoutRequest.objects.filter(pk=found.id).first()
        if request is None:  # given back meanwhile (a 503, say): this request may claim it afresh
            raise IdempotencyInProgress("A checkout with this Idempotency-Key is still in progress; retry shortly.")
        if request.response_status is not None:
            return CheckoutAnswer(status=request.response_status, body=request.response_body)
        if found.try_lock():  # no request is running with this key
            try:
                request = _read_settled(found.id)
                if request is None:  # given back as its lock went
                    raise IdempotencyInProgress("A checkout with this Idempotency-Key is still in progress; retry "
                                                "shortly.")
                if request.response_status is not None:  # answered as its lock went
                    return CheckoutAnswer(status=request.response_status, body=request.response_body)
                if request.order_number:
                    return found.finish(from_order(request.order_number))
                return run_again(found)
            finally:
                found.unlock()  # (finish has unlocked already on the way out, unless the answer raised)
        if time.monotonic() > deadline:
            raise IdempotencyInProgress("A checkout with this Idempotency-Key is still in progress; retry shortly.")
        time.sleep(0.05)  # the first request with this key is still running: wait for its answer


def _read_settled(claim_id: int) -> CheckoutRequest | None:
    """The claim as the request that held its lock left it: read under its row lock, so a finish that has let go
    of the lock but not yet committed (_FINISH_SQL) is waited for. (Read without it, an answer committed between
    the first read and the lock would be missed, and the checkout run a second time.)"""
    with transaction.atomic():
        return CheckoutRequest.objects.select_for_update().filter(pk=claim_id).first()


def stored_answer(*, owner: str, key: str, from_order: Callable[[str], CheckoutAnswer]) -> CheckoutAnswer | None:
    """What the key would answer now, without running anything (the checkout queue's poll)."""
    request = CheckoutRequest.objects.filter(owner=owner, key=key).first()
    if request is None:
        return None
    if request.response_status is not None:
        return CheckoutAnswer(status=request.response_status, body=request.response_body)
    return from_order(request.order_number) if request.order_number else None
