"""Project-level pages: health check and the shop's own error pages."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)


def _check(fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:  # a health check reports any failure instead of raising it
        logger.warning("health check failed: %s", exc)
        return "down"


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    get_redis_connection("default").ping()  # directly: the cache itself shrugs off errors (IGNORE_EXCEPTIONS)


@never_cache
def healthz(request):
    checks = {"database": _check(_database), "redis": _check(_redis)}
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "message": "Something went wrong on our side."}, status=500)
    # Rendered without the request's context processors: they need the database, which may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())

