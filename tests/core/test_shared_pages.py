"""Every stateless visitor (no session, no messages) gets the same bytes of a cached page: no cookie, no CSRF token,
cacheable by anything in front, served by SharedPageMiddleware before the per-visitor middleware runs, and still
exact. Their forms still work: with JavaScript through /csrf/, without it through a page that asks to confirm."""

import json
import re

import pytest
from django.test import Client

from cart import services as cart_services
from catalog import services
from catalog.models import Product
from store.core.views import csrf_failure
from tests.factories import make_product

pytestmark = pytest.mark.django_db
views = []  # each cached_page() fill-in: the view ran, rather than the middleware answering


def counting_personal(request) -> dict:
    """PAGECACHE_PERSONAL_CONTEXT for these tests: the store's own, counted."""
    from store.layout import personal

    views.append(request.path)
    return personal(request)


@pytest.fixture
def counted(settings):
    views.clear()
    settings.PAGECACHE_PERSONAL_CONTEXT = "tests.core.test_shared_pages.counting_personal"
    return views


def token_in(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]*)"', html).group(1)


def test_stateless_visitors_get_the_same_bytes_no_cookie_and_no_token(client):
    path = f"/p/{make_product(name='Same For All').slug}/"
    first, second = client.get(path), Client().get(path)
    assert first.content == second.content and b"Same For All" in first.content
    assert not first.cookies and not second.cookies
    assert token_in(first.content.decode()) == ""
    assert "public" in first["Cache-Control"] and "s-maxage=10" in first["Cache-Control"]
    assert "Cookie" in first["Vary"]


def test_after_two_views_the_middleware_answers_without_the_view(client, counted):
    path = f"/p/{make_product().slug}/"
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200 and response["X-Frame-Options"] == "DENY"
    # the first view teaches the address, the second stores the page at the versions read before it
    assert counted == [path, path]
    assert client.get(path + "?utm_source=mail").status_code == 200  # a new address of the same page …
    client.get(path + "?utm_source=mail")
    assert counted == [path, path, path]  # … is learnt once, and served from the page already stored


def test_an_edit_shows_at_once_to_stateless_visitors(client, on_commit, counted):
    spec = make_product(name="Before Edit")
    path = f"/p/{spec.slug}/"
    for _ in range(3):
        client.get(path)
    with on_commit():
        Product.objects.filter(slug=spec.slug).update(name="After Edit")
        services.product_refresh(product_ids=[Product.objects.get(slug=spec.slug).id])
    html = client.get(path).content.decode()
    assert "After Edit" in html and "Before Edit" not in html
    assert "After Edit" in client.get(path).content.decode()


def test_a_shopper_with_a_session_gets_a_private_page_with_their_token(client):
    path = f"/p/{make_product().slug}/"
    client.get(path)
    client.get(path)
    session = client.session
    session["cart_token"] = cart_services.cart_create().token
    session.save()
    response = client.get(path)
    assert len(token_in(response.content.decode())) == 64 and "csrftoken" in response.cookies
    assert "private" in response["Cache-Control"]


# ---------------------------------------------------------------- the forms of a page without a token
@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def product_form(browser, spec) -> dict:
    html = browser.get(f"/p/{spec.slug}/").content.decode()
    assert token_in(html) == ""
    return {"sku": spec.variants[0].sku, "quantity": "1", "next": f"/p/{spec.slug}/"}


def test_with_javascript_the_form_is_sent_with_a_token_from_csrf(browser):
    spec = make_product()
    form = product_form(browser, spec)
    token = browser.get("/csrf/").json()["token"]
    response = browser.post("/cart/add/", {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert browser.get("/cart/").context["cart"].lines[0].sku == spec.variants[0].sku


def test_without_javascript_the_shopper_confirms_and_the_form_goes_through(browser):
    spec = make_product()
    form = product_form(browser, spec)
    refused = browser.post("/cart/add/", form, HTTP_ORIGIN="http://testserver")
    html = refused.content.decode()
    assert refused.status_code == 403 and "One more step" in html and ">Continue</button>" in html
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"} == form
    response = browser.post("/cart/add/", fields, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 302
    assert browser.get("/cart/").context["cart"].lines[0].sku == spec.variants[0].sku


@pytest.mark.parametrize("headers", [
    {"HTTP_ORIGIN": "https://evil.example"},
    {"HTTP_ORIGIN": "null"},
    {"HTTP_REFERER": "https://evil.example/page"},
    {},  # neither: nothing says where the form came from
])
def test_a_form_from_elsewhere_is_refused_without_an_offer_to_confirm(browser, headers):
    spec = make_product()
    form = {**product_form(browser, spec), "note": "<script>alert(1)</script>"}
    refused = browser.post("/cart/add/", form, **headers)
    html = refused.content.decode()
    assert refused.status_code == 403 and "could not be sent" in html
    assert "Continue" not in html and spec.variants[0].sku not in html and "<script>alert" not in html


def test_the_confirmation_escapes_what_it_sends_back(browser):
    spec = make_product()
    form = {**product_form(browser, spec), "next": '"><script>alert(1)</script>'}
    html = browser.post("/cart/add/", form, HTTP_ORIGIN="http://testserver").content.decode()
    assert "<script>alert(1)" not in html and "&quot;&gt;&lt;script&gt;" in html


def test_an_api_address_gets_json_not_a_page(rf):
    response = csrf_failure(rf.post("/api/v1/carts/", {}, HTTP_ORIGIN="http://testserver"), reason="no token")
    assert response.status_code == 403 and json.loads(response.content)["code"] == "csrf_failed"
