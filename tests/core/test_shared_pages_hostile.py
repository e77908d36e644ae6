"""The page every stateless visitor shares, attacked: what one request could leave in it for the next visitor
(a HEAD, a cookie set on the way, a host the shop does not serve), whether it outlives an edit, and what the page
that confirms a tokenless form could be made to do (clickjacking, caching, losing the form's address)."""

import re

import pytest
from django.middleware.csrf import get_token
from django.test import Client

from store.core import pagecache
from tests.factories import make_product

pytestmark = pytest.mark.django_db
views = []  # each cached_page() fill-in: the view ran, rather than SharedPageMiddleware answering


def counting_personal(request) -> dict:
    from store.layout import personal

    views.append(request.path)
    return personal(request)


def token_setting_personal(request) -> dict:
    """A provider that touches the visitor's CSRF token (so Django's middleware sets its cookie) on a page that is
    otherwise the shared one: what a careless provider, template tag or context would do."""
    from store.layout import personal

    get_token(request)
    return personal(request)


@pytest.fixture
def counted(settings):
    views.clear()
    settings.PAGECACHE_PERSONAL_CONTEXT = "tests.core.test_shared_pages_hostile.counting_personal"
    return views


def log_in_link(html: str) -> str:
    return re.search(r'<a href="([^"]*)">Log in</a>', html).group(1)


# ---------------------------------------------------------------- what one request leaves for the next visitor
def test_a_head_request_never_stores_the_page_get_visitors_are_served(client, counted):
    path = f"/p/{make_product().slug}/"
    expected = client.get(path).content  # teaches the middleware the address
    assert log_in_link(expected.decode()) == f"/account/login/?next=%2Fp%2F{path.split('/')[2]}%2F"
    client.head(path)  # a HEAD is answered without "next" on its log-in link (not a GET) …
    for _ in range(2):
        assert client.get(path).content == expected  # … and must not become every GET visitor's page


def test_a_host_the_shop_does_not_serve_is_refused_even_once_the_page_is_stored(client, counted):
    path = f"/p/{make_product().slug}/"
    for _ in range(3):
        client.get(path)
    assert len(counted) == 2  # stored: the middleware answers alone from here
    assert client.get(path, HTTP_HOST="attacker.example").status_code == 400  # ALLOWED_HOSTS, as without it
    assert client.get(path).status_code == 200


def test_a_response_that_sets_a_cookie_is_neither_public_nor_stored(client, settings):
    settings.PAGECACHE_PERSONAL_CONTEXT = "tests.core.test_shared_pages_hostile.token_setting_personal"
    path = f"/p/{make_product().slug}/"
    for _ in range(3):
        response = Client().get(path)
        # one visitor's CSRF cookie must never be handed to the next by a CDN holding the page
        assert "csrftoken" in response.cookies
        assert "public" not in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_a_session_cookie_that_names_no_session_gets_a_private_page_not_the_stored_one(client, counted):
    path = f"/p/{make_product().slug}/"
    shared = [client.get(path).content for _ in range(3)][-1]
    client.cookies["sessionid"] = "no-such-session"
    response = client.get(path)
    assert "private" in response["Cache-Control"] and response.content != shared
    assert re.search(r'name="csrfmiddlewaretoken" value="([^"]{64})"', response.content.decode())


def test_a_missing_product_is_not_stored_nor_public(client, counted):
    for _ in range(3):
        response = client.get("/p/no-such-product/")
        assert response.status_code == 404 and "public" not in response.get("Cache-Control", "")
    assert counted == []  # the view's 404 comes before any fill-in, every time


def test_clearing_the_page_cache_shows_at_once_to_stateless_visitors(client, counted):
    path = f"/p/{make_product().slug}/"
    for _ in range(3):
        client.get(path)
    assert len(counted) == 2
    pagecache.clear()  # clear_page_cache, after a template edit
    client.get(path)
    assert len(counted) == 3


# ---------------------------------------------------------------- the page that confirms a tokenless form
@pytest.fixture
def no_js():
    return Client(enforce_csrf_checks=True)


def test_the_confirmation_page_cannot_be_framed_or_kept_by_a_cache(no_js):
    spec = make_product()
    form = {"sku": spec.variants[0].sku, "quantity": "1", "next": f"/p/{spec.slug}/"}
    refused = no_js.post("/cart/add/", form, HTTP_ORIGIN="http://testserver")
    assert refused.status_code == 403 and "One more step" in refused.content.decode()
    assert refused["X-Frame-Options"] == "DENY"  # another site cannot frame it and have the shopper press Continue
    assert "no-store" in refused["Cache-Control"]  # it repeats what the shopper typed (a password, an address)


def test_the_confirmation_sends_the_form_back_to_its_whole_address(no_js):
    spec = make_product()
    form = {"sku": spec.variants[0].sku, "quantity": "1"}
    html = no_js.post("/cart/add/?next=/p/x/&a=%3Cb%3E", form, HTTP_ORIGIN="http://testserver").content.decode()
    assert 'action="/cart/add/?next=/p/x/&amp;a=%3Cb%3E"' in html


def test_a_replayed_page_says_its_own_length_and_ignores_forwarded_hosts(client, counted):
    path = f"/p/{make_product().slug}/"
    first = client.get(path, HTTP_X_FORWARDED_HOST="attacker.example", HTTP_X_FORWARDED_PROTO="https")
    for _ in range(3):
        response = client.get(path)
        assert response.content == first.content and int(response["Content-Length"]) == len(response.content)
    assert b"attacker.example" not in first.content and len(counted) == 2


def test_the_token_address_is_never_shared_by_a_cache_nor_readable_by_another_site(client):
    response = client.get("/csrf/", HTTP_ORIGIN="https://attacker.example")
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


@pytest.mark.parametrize("origin", ["http://testserver", "https://attacker.example"])
def test_a_malformed_form_without_a_token_is_a_4xx_not_a_500(no_js, origin):
    body = b"--XX\r\nContent-Disposition: form-data; name=\"sku\"\r\n\r\nA"  # no closing boundary
    response = no_js.generic("POST", "/cart/add/", body, content_type="multipart/form-data; boundary=XX",
                             HTTP_ORIGIN=origin)
    assert 400 <= response.status_code < 500


def test_a_page_built_from_a_near_copy_older_than_the_versions_read_is_never_stored(client, on_commit, counted,
                                                                                     monkeypatch):
    """The middleware reads the versions from Redis; the view's page may come from this process's near copy,
    which follows Redis's invalidation messages a moment late (another connection). An edit in that moment must
    not leave the old page stored at the new versions, to be served until the next edit."""
    from catalog import services
    from catalog.models import Product
    from store.core import nearcache
    from store.core.cache import VERSION_PREFIX

    spec = make_product(name="Before Edit")
    path = f"/p/{spec.slug}/"
    client.get(path)  # teaches the address; the page's parts are now in this process's near cache
    local = nearcache.tracker(VERSION_PREFIX)
    held = []
    monkeypatch.setattr(local, "_apply", held.append)  # the edit's invalidation message is still on its way
    with on_commit():
        Product.objects.filter(slug=spec.slug).update(name="After Edit")
        services.product_refresh(product_ids=[Product.objects.get(slug=spec.slug).id])
    client.get(path)  # in flight during the edit: may show either
    monkeypatch.undo()
    with local._lock:  # the message arrives
        for message in held:
            local._apply(message)
    html = client.get(path).content.decode()
    assert "After Edit" in html and "Before Edit" not in html


def test_a_form_with_a_password_is_not_written_back_into_a_page(no_js):
    refused = no_js.post("/account/login/", {"username": "someone", "password": "hunter2-secret"},
                         HTTP_ORIGIN="http://testserver")
    html = refused.content.decode()
    assert refused.status_code == 403 and "hunter2-secret" not in html and "could not be sent" in html


def test_with_the_near_cache_off_the_middleware_still_answers_from_redis(client, counted, settings):
    settings.PAGECACHE_NEAR_ENTRIES = 0  # Redis Cluster (docs/operations.md): addresses are still learnt
    path = f"/p/{make_product().slug}/"
    pages = [client.get(path).content for _ in range(4)]
    assert len(set(pages)) == 1 and counted == [path, path]
