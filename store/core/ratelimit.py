"""Rate limits per client and per account (a Redis counter per window), configured by RATE_LIMITS.

RATE_LIMITS="cart=60/m,checkout=10/m" sets the limit of a group per client (its IP address); "cart_account" and
"checkout_account" limit a signed-in account as well, wherever it comes from (one account on many addresses);
sign-in pages limit the account name or e-mail address tried the same way ("login_account", "password_reset_email"),
so guessing one account's password from many addresses is still slow; "off" disables them all (load tests). Every
call counts against both, and the stricter one answers: RateLimited, which the API answers 429 with Retry-After and
pages with a friendly 429 page. If Redis is down the limit is not enforced (fail open): refusing every shopper
because a counter is unreachable would be worse than a burst. The shop-wide cap is store/core/loadshed.py.

Windows are fixed (a minute's limit counts from :00 to :59) and read ``clock``: a context variable, so a test can
hold its own thread's windows still (tests/conftest.py, ``rate_clock``) without patching a global that every other
thread would see; a thread starts with the real clock.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import unicodedata
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django_redis import get_redis_connection

from store.core.exceptions import ApplicationError
from store.core.requests import has_session

logger = logging.getLogger(__name__)
clock: ContextVar[Callable[[], float]] = ContextVar("store_ratelimit_clock", default=time.time)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests; try again in {retry_after} s.", extra={"retry_after": retry_after})
        self.retry_after = retry_after


def client_address(request) -> str:
    """The client's IP address: REMOTE_ADDR, or behind a reverse proxy (CLIENT_IP_HEADER, e.g. X-Forwarded-For)
    the last address in that header — the one the shop's own proxy appended, which a client cannot forge."""
    if settings.CLIENT_IP_HEADER:
        forwarded = request.META.get("HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_"), "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.META.get("REMOTE_ADDR", "")


def _client(group, request) -> str:
    return f"ip:{client_address(request)}"


def _account(group, request) -> str:
    return f"user:{request.user.pk}"


def check(request, group: str, *, name: str | None = None, name_group: str | None = None) -> None:
    """Count one request of ``group`` for this client and, when signed in, this account; raise RateLimited when
    either is over its limit.

    ``name``: the account name or e-mail address a signed-out request is about (log-in, password reset), counted
    under ``name_group`` (default "<group>_account") instead of the signed-in account, case-insensitively and
    NFKC-normalised (every spelling that names the same account counts as one)."""
    limits = [(settings.RATE_LIMITS.get(group), group, _client)]
    account_rate = settings.RATE_LIMITS.get(name_group or f"{group}_account")
    if name is not None:
        # as the forms read it (Django's UsernameField NFKC-normalises: "ａｄａ" signs in as "ada"), in any case
        named = f"name:{unicodedata.normalize('NFKC', name).strip().casefold()}"
        limits.append((account_rate, name_group or f"{group}_account", lambda _group, _request: named))
    elif account_rate and has_session(request):  # (without a session cookie nobody is signed in: no lookup needed)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limits.append((account_rate, f"{group}_account", _account))
    waits = []
    now = clock.get()()
    for rate, name, key in limits:
        if not rate:
            continue
        try:
            wait = _count(f"{name}:{key(name, request)}", rate, now)
        except Exception:  # fail open: see the module docstring
            logger.warning("rate limit %s unavailable", name, exc_info=True)
            continue
        if wait is not None:
            waits.append(max(1, math.ceil(wait)))
    if waits:
        raise RateLimited(max(waits))


def _count(what: str, rate: str, now: float) -> float | None:
    """Count one request against ``rate`` ("N/s|m|h|d", as settings.parse_rate_limits checked it) in the window
    holding ``now``; the seconds left in that window when the count is over N, else None."""
    count, _, unit = rate.partition("/")
    period = _SECONDS[unit]
    window = int(now // period)
    key = f"rl:{hashlib.sha256(what.encode()).hexdigest()[:32]}:{period}:{window}"  # names are any length
    pipe = get_redis_connection("default").pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, period + 1)
    if pipe.execute()[0] > int(count):
        return (window + 1) * period - now
    return None
