"""Per-client rate limits (Redis counters through django-ratelimit), configured by RATE_LIMITS (settings).

RATE_LIMITS="cart=60/m,checkout=10/m" sets the limit per group; "off" disables them all (load tests). A client is
the signed-in user, else the IP address. Over the limit, services' callers get RateLimited, which the API answers
429 with Retry-After and pages answer with a friendly 429 page. If Redis is down the limit is not enforced (fail
open): refusing every shopper because a counter is unreachable would be worse than a burst.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django_ratelimit.core import get_usage

from store.core.exceptions import ApplicationError

logger = logging.getLogger(__name__)


class RateLimited(ApplicationError):
    code = "rate_limited"
    status = 429

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests; try again in {retry_after} s.", extra={"retry_after": retry_after})
        self.retry_after = retry_after


def _client(group, request) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{request.META.get('REMOTE_ADDR', '')}"


def check(request, group: str) -> None:
    """Count one request of ``group`` for this client; raise RateLimited when over the limit."""
    rate = settings.RATE_LIMITS.get(group)
    if not rate:
        return
    try:
        usage = get_usage(request, group=f"store.{group}", key=_client, rate=rate, increment=True)
    except Exception:  # fail open: see the module docstring
        logger.warning("rate limit %s unavailable", group, exc_info=True)
        return
    if usage and usage["should_limit"]:
        raise RateLimited(max(1, math.ceil(usage["time_left"])))
