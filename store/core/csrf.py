"""Django's CSRF middleware, writing its cookie from a template.

Every page with a form sends the CSRF cookie: a first visitor gets a new secret, and Django renews a returning
visitor's on each use. Django's `HttpResponse.set_cookie` runs the value through `SimpleCookie`'s quoting, sets
each attribute through `Morsel.__setitem__`, formats the expiry date, and `patch_vary_headers` then splits and
rejoins `Vary`: ~20 µs of the ~185 µs a cached product page costs in-process, a tenth of it (bench/RESULTS.md).

This builds the cookie once per configuration with Django's own `set_cookie` and copies it for each response, with
the expiry date formatted once a second: the same `Set-Cookie` header and the same `response.cookies` entry (the
test client and other middleware read it). tests/core/test_csrf.py compares both with Django's for several
configurations. CSRF_USE_SESSIONS, a non-integer CSRF_COOKIE_AGE or a secret that would need quoting (never: the
secret is alphanumeric) go to Django's own code.
"""

from __future__ import annotations

import functools
import time
from http.cookies import Morsel

from django.conf import settings
from django.http import HttpResponse
from django.middleware import csrf
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date


@functools.lru_cache(maxsize=8)
def _template(name: str, age: int | None, domain, path: str, secure: bool, httponly: bool, samesite) -> Morsel:
    """The CSRF cookie for this configuration, as Django's `set_cookie` writes it, without its value and expiry."""
    scratch = HttpResponse()
    scratch.set_cookie(name, "", max_age=age, domain=domain, path=path, secure=secure, httponly=httponly,
                       samesite=samesite)
    morsel = scratch.cookies[name]
    morsel["expires"] = ""  # stamped per response (an empty attribute is left out of the header)
    return morsel


_expiry: tuple[int, int, str] = (0, 0, "")  # (second, age, HTTP date): one tuple, so threads read it whole


def _expires(age: int) -> str:
    """`http_date(time.time() + age)`, as `set_cookie` writes it, formatted once a second."""
    global _expiry
    now = int(time.time())
    second, cached_age, date = _expiry
    if second != now or cached_age != age:
        date = http_date(now + age)  # the same second as http_date(time.time() + age): the date drops fractions
        _expiry = (now, age, date)
    return date


class CsrfViewMiddleware(csrf.CsrfViewMiddleware):
    def _set_csrf_cookie(self, request, response):
        secret = request.META["CSRF_COOKIE"]
        age = settings.CSRF_COOKIE_AGE
        if settings.CSRF_USE_SESSIONS or not (age is None or type(age) is int) or not secret.isalnum() \
                or not secret.isascii():
            return super()._set_csrf_cookie(request, response)
        name = settings.CSRF_COOKIE_NAME
        morsel = _template(name, age, settings.CSRF_COOKIE_DOMAIN, settings.CSRF_COOKIE_PATH,
                           settings.CSRF_COOKIE_SECURE, settings.CSRF_COOKIE_HTTPONLY,
                           settings.CSRF_COOKIE_SAMESITE).copy()
        morsel.set(name, secret, secret)  # alphanumeric: its quoted form is itself
        if age is not None:
            morsel["expires"] = _expires(age)
        response.cookies[name] = morsel
        if "Vary" in response.headers:
            patch_vary_headers(response, ("Cookie",))
        else:  # what patch_vary_headers writes when there is no Vary yet
            response.headers["Vary"] = "Cookie"
