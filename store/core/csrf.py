"""Django's CSRF middleware, writing its cookie from a template.

Every page with a form sends the CSRF cookie: a first visitor gets a new secret, and Django renews a returning
visitor's on each use. Django's `HttpResponse.set_cookie` runs the value through `SimpleCookie`'s quoting, sets
each attribute through `Morsel.__setitem__`, formats the expiry date, and `patch_vary_headers` then splits and
rejoins `Vary`: ~34 µs of the ~185 µs a cached product page cost in-process (bench/RESULTS.md, session 5).

This builds the cookie once with Django's own `set_cookie` (again when a CSRF setting changes) and copies it for
each response, with the expiry date formatted once a second: the same `Set-Cookie` header and the same
`response.cookies` entry (the test client and other middleware read it). tests/core/test_csrf.py compares both
with Django's for several configurations. CSRF_USE_SESSIONS, a non-integer CSRF_COOKIE_AGE or a secret that would
need quoting (never: the secret is alphanumeric) go to Django's own code.
"""

from __future__ import annotations

import functools
import time
from http.cookies import Morsel

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpResponse
from django.middleware import csrf
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date


@functools.cache
def _cookie_template() -> Morsel | None:
    """The CSRF cookie as Django's `set_cookie` writes it for the current settings, without its value and expiry;
    None where Django's own code must write it. Read once, and again after a CSRF setting changes (tests)."""
    age = settings.CSRF_COOKIE_AGE
    if settings.CSRF_USE_SESSIONS or not (age is None or type(age) is int):
        return None
    scratch = HttpResponse()
    scratch.set_cookie(settings.CSRF_COOKIE_NAME, "", max_age=age, domain=settings.CSRF_COOKIE_DOMAIN,
                       path=settings.CSRF_COOKIE_PATH, secure=settings.CSRF_COOKIE_SECURE,
                       httponly=settings.CSRF_COOKIE_HTTPONLY, samesite=settings.CSRF_COOKIE_SAMESITE)
    morsel = scratch.cookies[settings.CSRF_COOKIE_NAME]
    morsel["expires"] = ""  # stamped per response (an empty attribute is left out of the header)
    return morsel


@receiver(setting_changed)
def _csrf_setting_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("CSRF_"):
        _cookie_template.cache_clear()


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
        template = _cookie_template()
        secret = request.META["CSRF_COOKIE"]
        if template is None or not (secret.isascii() and secret.isalnum()):
            return super()._set_csrf_cookie(request, response)
        morsel = template.copy()
        morsel.set(template.key, secret, secret)  # alphanumeric: its quoted form is itself
        if template["max-age"] != "":
            morsel["expires"] = _expires(template["max-age"])
        response.cookies[template.key] = morsel
        if "Vary" in response.headers:
            patch_vary_headers(response, ("Cookie",))
        else:  # what patch_vary_headers writes when there is no Vary yet
            response.headers["Vary"] = "Cookie"
