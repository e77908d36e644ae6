"""The global cap: past a configured number of requests per window for the whole shop (all web processes, every
page and API call but static files and /healthz), answer 503 with Retry-After at once, so a crowd bigger than the
shop can serve gets a quick "come back in a second" instead of a queue that ends in timeouts for everyone.

Configured as the ``global`` entry of RATE_LIMITS (``RATE_LIMITS="global=1500/s"``; off unless set, since the
right figure is what this shop's hardware serves: bench/flash_sale.py measures it). Counted in Redis, one counter
per window shared by every process, one round trip per request. Once a process has seen the window full it refuses
on its own until the window ends, so shedding a flood costs no Redis at all. Redis down: nothing is shed (fail
open, like the per-client limits).
"""

from __future__ import annotations

import functools
import logging
import math

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils.html import escape
from django_redis import get_redis_connection

from store.core.ratelimit import clock

logger = logging.getLogger(__name__)
EXEMPT_PREFIXES = ("/healthz", "/static/", "/media/")
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><meta http-equiv="refresh" content="{retry}"><title>One moment ·
{name}</title><link rel="stylesheet" href="{css}"></head><body><main class="container error-page">
<h1>The shop is very busy</h1><p>So many shoppers are here right now that we are letting them in a few at a time.
This page tries again by itself in {retry} second{plural}.</p></main></body></html>"""


@functools.lru_cache(maxsize=16)
def parse_rate(rate: str) -> tuple[int, int]:
    """"1500/s" -> (1500, 1); "90000/m" -> (90000, 60). ValueError for anything else."""
    count, _, period = rate.strip().partition("/")
    if period not in _PERIODS or not count.isdigit() or int(count) < 1:
        raise ValueError(f"a rate is N/s, N/m, N/h or N/d with N ≥ 1, not {rate!r}")
    return int(count), _PERIODS[period]


class LoadShedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.full_window = None  # the window this process has seen full

    def __call__(self, request):
        rate = settings.RATE_LIMITS.get("global")
        if rate and not request.path.startswith(EXEMPT_PREFIXES):
            limit, period = parse_rate(rate)
            now = clock.get()()  # the rate limits' clock (store/core/ratelimit.py): a test may hold it still
            window = int(now // period)
            if window == self.full_window or self._count(window, period) > limit:
                self.full_window = window
                return self._refusal(request, max(1, math.ceil((window + 1) * period - now)))
        return self.get_response(request)

    @staticmethod
    def _count(window: int, period: int) -> int:
        try:
            pipe = get_redis_connection("default").pipeline(transaction=False)
            pipe.incr(f"load:{period}:{window}")
            pipe.expire(f"load:{period}:{window}", period + 1)
            return pipe.execute()[0]
        except Exception:
            logger.warning("global cap unavailable (Redis); not shedding", exc_info=True)
            return 0

    @staticmethod
    def _refusal(request, retry: int):
        if request.path.startswith("/api/"):
            response = JsonResponse({"code": "overloaded", "retry_after": retry,
                                     "message": "The shop is very busy right now; please try again shortly."},
                                    status=503)
        else:
            page = _PAGE.format(retry=retry, css=static("css/store.css"), plural="" if retry == 1 else "s",
                                name=escape(settings.STORE_NAME))
            response = HttpResponse(page, status=503)
        response["Retry-After"] = str(retry)
        response["Cache-Control"] = "no-store"
        return response
