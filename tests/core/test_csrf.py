"""The CSRF middleware's templated cookie is Django's own cookie: the same Set-Cookie header, the same
response.cookies entry, the same Vary; and a first visitor's token from a cached product page is accepted by a
strict (CSRF-enforcing) client."""

import re
import time

import pytest
from django.http import HttpResponse
from django.middleware.csrf import CsrfViewMiddleware as DjangoCsrfViewMiddleware
from django.middleware.csrf import get_token
from django.test import Client, RequestFactory, override_settings

from store.core import csrf
from tests.factories import make_product

CONFIGURATIONS = [
    {},  # the shop's own settings
    {"CSRF_COOKIE_SECURE": True, "CSRF_COOKIE_HTTPONLY": True, "CSRF_COOKIE_DOMAIN": ".shop.example",
     "CSRF_COOKIE_SAMESITE": "Strict", "CSRF_COOKIE_PATH": "/store/", "CSRF_COOKIE_NAME": "__Host-t"},
    {"CSRF_COOKIE_AGE": None, "CSRF_COOKIE_SAMESITE": "None", "CSRF_COOKIE_SECURE": True},
    {"CSRF_COOKIE_AGE": 3600, "CSRF_COOKIE_SAMESITE": None},
]


def _cookie(middleware_class, *, vary: str | None = None, cookie: str | None = None):
    """(Set-Cookie lines as the WSGI handler writes them, response.cookies, Vary) after one GET that used a token."""
    request = RequestFactory().get("/", **({"HTTP_COOKIE": cookie} if cookie else {}))

    def view(request):
        get_token(request)
        response = HttpResponse("form")
        if vary:
            response.headers["Vary"] = vary
        return response

    response = middleware_class(view)(request)
    lines = [morsel.output(header="") for morsel in response.cookies.values()]
    return lines, {name: (m.value, dict(m)) for name, m in response.cookies.items()}, response.get("Vary")


@pytest.fixture
def djangos_writes(monkeypatch):
    """The middleware classes whose cookie Django's own _set_csrf_cookie wrote; the same new secret every time."""
    monkeypatch.setattr("django.middleware.csrf._get_new_csrf_string", lambda: "s3cr3t" * 5 + "Ab")
    writes, original = [], DjangoCsrfViewMiddleware._set_csrf_cookie

    def spy(self, request, response):
        writes.append(type(self))
        return original(self, request, response)

    monkeypatch.setattr(DjangoCsrfViewMiddleware, "_set_csrf_cookie", spy)
    return writes


@pytest.fixture
def still_clock(monkeypatch):
    """Both cookies stamped in the same second (the expiry date is to the second)."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)


@pytest.mark.parametrize("overrides", CONFIGURATIONS)
@pytest.mark.parametrize("vary", [None, "Accept-Encoding", "Cookie, Accept-Language"])
def test_the_templated_cookie_is_djangos(overrides, vary, still_clock, djangos_writes):
    _cookie(csrf.CsrfViewMiddleware)  # the template for the shop's settings: it must not outlive the override
    with override_settings(**overrides):
        ours = _cookie(csrf.CsrfViewMiddleware, vary=vary)
        assert djangos_writes == []  # the template wrote it, not Django's code
        django = _cookie(DjangoCsrfViewMiddleware, vary=vary)
    assert ours == django
    assert ours[0] and "s3cr3t" in ours[0][0]


def test_a_returning_visitors_cookie_is_renewed_as_django_renews_it(still_clock):
    secret = "K" * 16 + "q" * 16
    ours = _cookie(csrf.CsrfViewMiddleware, cookie=f"csrftoken={secret}")
    assert ours == _cookie(DjangoCsrfViewMiddleware, cookie=f"csrftoken={secret}")
    assert ours[1]["csrftoken"][0] == secret


def test_the_expiry_date_follows_the_clock(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.7)
    first = _cookie(csrf.CsrfViewMiddleware)[1]["csrftoken"][1]["expires"]
    monkeypatch.setattr(time, "time", lambda: 1_800_000_061.2)
    later = _cookie(csrf.CsrfViewMiddleware)[1]["csrftoken"][1]["expires"]
    assert (first, later) == ("Fri, 14 Jan 2028 08:00:00 GMT", "Fri, 14 Jan 2028 08:01:01 GMT")


@pytest.mark.parametrize("overrides", [{"CSRF_USE_SESSIONS": True}, {"CSRF_COOKIE_AGE": 86400.5}])
def test_what_the_template_cannot_write_is_left_to_django(overrides, djangos_writes, still_clock):
    with override_settings(**overrides):
        request = RequestFactory().get("/")
        request.session = {}
        middleware = csrf.CsrfViewMiddleware(lambda r: HttpResponse(get_token(r)))
        middleware.process_request(request)
        response = middleware.process_response(request, middleware.get_response(request))
        assert djangos_writes == [csrf.CsrfViewMiddleware]
        if overrides.get("CSRF_USE_SESSIONS"):
            assert not response.cookies and request.session["_csrftoken"] == request.META["CSRF_COOKIE"]
        else:
            assert response.cookies["csrftoken"]["max-age"] == 86400


@pytest.mark.django_db
def test_a_first_visitors_token_from_a_cached_product_page_adds_to_the_cart():
    product = make_product(name="Linen Shirt", prices=["30.00"], stock=[5])
    Client().get(f"/p/{product.slug}/")  # someone else's visit fills the page cache
    shopper = Client(enforce_csrf_checks=True)
    response = shopper.get(f"/p/{product.slug}/")
    assert response["Vary"] == "Cookie" and response.cookies["csrftoken"]["samesite"] == "Lax"
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', response.content.decode()).group(1)
    added = shopper.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "1",
                                        "csrfmiddlewaretoken": token})
    assert added.status_code == 302 and added["Location"] == "/cart/"
    forged = Client(enforce_csrf_checks=True)
    forged.cookies["csrftoken"] = "Z" * 32  # a cookie the attacker chose, with the shopper's token: refused
    assert forged.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "1",
                                      "csrfmiddlewaretoken": token}).status_code == 403


def test_the_shop_uses_it():
    from django.conf import settings

    assert "store.core.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    assert "django.middleware.csrf.CsrfViewMiddleware" not in settings.MIDDLEWARE
    # the method it overrides is still the one Django's process_response calls (a Django upgrade is caught here)
    assert "_set_csrf_cookie" in DjangoCsrfViewMiddleware.process_response.__code__.co_names
