"""Project-level pages: health check, the CSRF token for stateless pages' forms, and the shop's own error pages."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.db import connection
from django.http import HttpResponseServerError, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template import loader
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection

from store.core import replicas

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


CONFIRM_FIELDS = 20  # a form sent back on the confirmation page has at most this many fields …
CONFIRM_VALUE_CHARS = 2000  # … each at most this long; anything bigger is not one of the shop's small forms


@never_cache
def csrf_token(request):
    """A CSRF token for a form on a page that carries none (the page every stateless visitor gets: see
    store.core.pagecache); static/js/csrf.js asks for it when such a form is sent. Django's CSRF middleware sets the
    cookie it belongs to. Another site's script cannot read the answer (no CORS), so it learns nothing."""
    return JsonResponse({"token": get_token(request)})


def _same_origin(request) -> bool:
    """Whether the browser says the request comes from a page of this shop (Origin, else Referer). Browsers send
    Origin with every cross-site POST, so a form on another site never passes."""
    ours = f"{request.scheme}://{request.get_host()}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == ours
    referer = urlsplit(request.headers.get("Referer", ""))
    return f"{referer.scheme}://{referer.netloc}" == ours


@never_cache  # the confirmation repeats what the shopper typed: no cache or back button may keep it
def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW. A form of this shop sent without a token (from a page every stateless visitor
    gets, in a browser without JavaScript) gets a page that asks the shopper to confirm it: the same fields, now
    with a token, and a button. Anything else (another site's form, the API, a large form, a password) is refused
    as Django refuses it, without the fields."""
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "csrf_failed", "message": f"CSRF check failed: {reason}"}, status=403)
    fields = [(name, value) for name, values in request.POST.lists() for value in values
              if name != "csrfmiddlewaretoken"]
    # a password is never written into a page (its source, a cache, a saved copy): the shop's password forms
    # carry their token anyway, so such a form fails only when stale, and is sent again from a reloaded page
    confirmable = (not request.FILES and _same_origin(request) and len(fields) <= CONFIRM_FIELDS
                   and all(len(value) <= CONFIRM_VALUE_CHARS and "password" not in name.lower()
                           for name, value in fields))
    return render(request, "403_csrf.html",  # back to the form's whole address: its query may be what it is for
                  {"fields": fields if confirmable else None, "action": request.get_full_path()}, status=403)


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request):
    if replicas.handling_unreachable():  # not a bug: a database server is gone for a moment
        return replicas.unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "server_error", "message": "Something went wrong on our side."}, status=500)
    # Rendered without the request's context processors: they need the database, which may be what failed.
    return HttpResponseServerError(loader.get_template("500.html").render())

