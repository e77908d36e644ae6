"""Rate limits per client and per account (Redis counters through django-ratelimit), configured by RATE_LIMITS.

RATE_LIMITS="cart=60/m,checkout=10/m" sets the limit of a group per client (its IP address); "cart_account" and
"checkout_account" limit a signed-in account as well, wherever it comes from (one account on many addresses);
sign-in pages limit the account name or e-mail address tried the same way ("login_account", "password_reset_email"),
so guessing one account's password from many addresses is still slow; "off" disables them all (load tests). Every
call counts against both, and the stricter one answers: RateLimited, which the API answers 429 with Retry-After and
pages with a friendly 429 page. If Redis is down the limit is not enforced (fail open): refusing every shopper
because a counter is unreachable would be worse than a burst. The shop-wide cap is store/core/loadshed.py.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django_ratelimit.core import get_usage

from store.core.exceptions import ApplicationError
from store.core.requests import has_session

logger = logging.getLogger(__name__)


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
    under ``name_group`` (default "<group>_account") instead of the signed-in account, case-insensitively."""
    limits = [(settings.RATE_LIMITS.get(group), group, _client)]
    account_rate = settings.RATE_LIMITS.get(name_group or f"{group}_account")
    if name is not None:
        named = f"name:{name.strip().casefold()}"
        limits.append((account_rate, name_group or f"{group}_account", lambda _group, _request: named))
    elif account_rate and has_session(request):  # (without a session cookie nobody is signed in: no lookup needed)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            limits.append((account_rate, f"{group}_account", _account))
    waits = []
    for rate, name, key in limits:
        if not rate:
            continue
        try:
            usage = get_usage(request, group=f"store.{name}", key=key, rate=rate, increment=True)
        except Exception:  # fail open: see the module docstring
            logger.warning("rate limit %s unavailable", name, exc_info=True)
            continue
        if usage and usage["should_limit"]:
            waits.append(max(1, math.ceil(usage["time_left"])))
    if waits:
        raise RateLimited(max(waits))
