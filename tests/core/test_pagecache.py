"""A whole-page-cached page is shared by every shopper, but each sees their own badge, greeting and messages."""

import io

import pytest
from django.conf import settings as django_settings
from django.contrib.messages import constants
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client

from cart import services as cart_services
from store.core.cache import code_hash, release
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def with_cart(client, lines: int):
    spec = make_product(stock=[5] * lines)
    cart = cart_services.cart_create()
    for variant in spec.variants:
        cart_services.cart_add(token=cart.token, sku=variant.sku, quantity=1)
    session = client.session
    session["cart_token"] = cart.token
    session.save()
    return client


def badge(html: str) -> str:
    return html.split("data-cart-count>", 1)[1].split("<", 1)[0]


def test_each_shopper_sees_their_own_cart_badge_on_one_cached_page(client):
    spec = make_product(name="Shared Page")
    path = f"/p/{spec.slug}/"
    assert badge(client.get(path).content.decode()) == "0"  # fills the cache
    other = with_cart(Client(), 3)
    assert badge(other.get(path).content.decode()) == "3"
    assert badge(client.get(path).content.decode()) == "0"


def test_greeting_is_for_the_signed_in_shopper_only(client, django_user_model):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    user = django_user_model.objects.create_user("ada<b>", "ada@example.com", "pw-for-tests-only")
    signed_in = Client()
    signed_in.force_login(user)
    assert "Hi, ada&lt;b&gt;" in signed_in.get(path).content.decode()
    assert "Hi, " not in client.get(path).content.decode()


def test_messages_are_shown_once_and_not_cached_into_the_page(client, rf):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    client.get(path)
    storage = CookieStorage(rf.get(path))  # the cookie a redirect after "add to cart" would carry
    storage.add(constants.SUCCESS, "Added to your cart")
    response = HttpResponse()
    storage.update(response)
    client.cookies["messages"] = response.cookies["messages"].value
    assert "Added to your cart" in client.get(path).content.decode()
    assert "Added to your cart" not in client.get(path).content.decode()


def test_a_stray_separator_in_shop_data_stays_text(client):
    spec = make_product(name="Odd \x1e name \x1e here")
    for _ in range(2):  # built, then from the cache
        html = client.get(f"/p/{spec.slug}/").content.decode()
        assert "Odd \x1e name \x1e here" in html and badge(html) == "0"
        assert 'name="csrfmiddlewaretoken" value="' in html and "\x1ecsrf\x1e" not in html


# ---------------------------------------------------------------- fill-ins: escaped where filled, never forged
def hostile_personal(request) -> dict:
    """A provider of personal values that forgot to escape (PAGECACHE_PERSONAL_CONTEXT points here)."""
    from django.utils.safestring import mark_safe

    return {"cart_line_count": '3"><script>alert(1)</script>', "greeting": "<script>alert('hi')</script>",
            "account_links": mark_safe('<a href="/account/">Account</a>'), "messages_html": ""}


def test_personal_values_are_escaped_where_they_are_filled_in(client, settings):
    settings.PAGECACHE_PERSONAL_CONTEXT = "tests.core.test_pagecache.hostile_personal"
    spec = make_product()
    for _ in range(2):  # built, then from the cache
        html = client.get(f"/p/{spec.slug}/").content.decode()
        assert "<script>" not in html
        assert "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt;" in html
        assert 'aria-label="Cart, items: 3&quot;&gt;&lt;script&gt;' in html  # an attribute it cannot leave
        assert '<a href="/account/">Account</a>' in html  # markup only from a SafeString


def csrf_token_of(html: str) -> str:
    return html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]


@pytest.mark.parametrize("name", ["\x1ecsrf\x1e", "\x1egreeting\x1e and \x1ecart-count\x1e",
                                  "\x1e0123456789abcdefcsrf\x1e", "\x1e\x1ecsrf\x1e\x1e"])
def test_shop_data_cannot_forge_a_fill_in_marker(name):
    spec = make_product(name=name, description=name)
    shopper = with_cart(Client(), 2)
    for _ in range(2):  # built, then from the cache
        html = shopper.get(f"/p/{spec.slug}/").content.decode()
        assert html.count(name) >= 2, "the name and the description are shown as they are"
        assert html.count(csrf_token_of(html)) == 1, "the CSRF token only where the form has it"
        assert badge(html) == "2"


# ---------------------------------------------------------------- one entry per page shown, whatever the address
def _keys(pattern: str) -> list[bytes]:
    from django_redis import get_redis_connection

    return get_redis_connection(django_settings.CACHE_ALIAS).keys(f"*{pattern}*")


def test_junk_parameters_and_spellings_of_one_listing_make_one_cache_entry(client):
    make_product(name="Camp Mug", price="12.00")
    addresses = [f"/c/gear/?x={i}" for i in range(300)] + [
        "/c/gear/", "/c/gear/?page=1", "/c/gear/?page=01", "/c/gear/?page=+1", "/c/gear/?utm_source=mail&page=1",
        "/c/gear/?sort=relevance", "/c/gear/?sort=", "/c/gear/?in_stock=no", "/c/gear/?in_stock=off&x=1",
        "/c/gear/?q=", "/c/gear/?q=%20%20", "/c/gear/?q=!!!", "/c/gear/?min_price=&max_price=",
    ]
    pages = {client.get(address).content for address in addresses}
    assert len(pages) == 1, "every address shows the same page"
    assert len(_keys("page:b:category:gear:")) == 1
    assert len(_keys("catalog:list:")) == 1


def test_search_text_and_values_are_keyed_as_the_search_reads_them(client):
    make_product(name="Camp Mug", price="12.00")
    same = ["/c/gear/?q=mug&min_price=5", "/c/gear/?q=MUG&min_price=5.0", "/c/gear/?q=%20mug!%20&min_price=5.00",
            "/c/gear/?min_price=05&q=Mug&x=y", "/c/gear/?q=mug&min_price=5&page=001"]
    pages = {client.get(address).content for address in same}
    assert len(pages) == 1 and b"Camp Mug" in pages.pop()
    assert len(_keys("page:b:category:gear:")) == 1
    assert client.get("/c/gear/?q=mug&min_price=5&sort=price").status_code == 200  # a real change is another page
    assert len(_keys("page:b:category:gear:")) == 2


def test_links_on_a_cached_listing_carry_only_what_it_understands(client, settings):
    settings.CATALOG_PAGE_SIZE = 1
    make_product(price="10.00")
    make_product(price="30.00")
    html = client.get("/c/gear/?sort=-price&tracking=abc&x=%3Cb%3E").content.decode()
    assert 'href="?sort=-price&amp;page=2"' in html
    assert "tracking" not in html and "x=" not in html


def test_a_bad_filter_is_said_and_not_cached_per_value(client):
    make_product(name="Still Shown")
    for i in range(50):
        response = client.get(f"/c/gear/?min_price=abc{i}")
        assert response.status_code == 200
        assert b"Still Shown" in response.content and b'role="alert"' in response.content
    assert _keys("page:b:") == []
    assert len(_keys("catalog:list:")) == 1  # the plain listing it shows


def test_api_listing_entries_ignore_junk_and_spelling(client):
    make_product(name="Camp Mug")
    for i in range(100):
        assert client.get(f"/api/v1/products/?x={i}&q=Mug&page=0{1}").status_code == 200
    assert client.get("/api/v1/products/?q=mug!!").status_code == 200
    assert len(_keys("catalog:list:")) == 1


# ---------------------------------------------------------------- keyed by the deployed code
@pytest.fixture
def edited_template(tmp_path, settings):
    """An edit to the product page's template, as a developer makes one (a folder found before the shop's own)."""
    original = (settings.BASE_DIR / "templates" / "catalog" / "product.html").read_text()
    (tmp_path / "catalog").mkdir()
    (tmp_path / "catalog" / "product.html").write_text(
        original.replace("{% block content %}", "{% block content %}<p>EDITED IN A TEST</p>", 1))
    assert "EDITED IN A TEST" in (tmp_path / "catalog" / "product.html").read_text()

    def edit():
        settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]

    return edit


@pytest.fixture
def fresh_release():
    release.cache_clear()
    yield
    release.cache_clear()


def test_a_new_release_shows_a_template_edit_at_once(client, settings, edited_template, fresh_release):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    assert b"EDITED IN A TEST" not in client.get(path).content
    edited_template()
    assert b"EDITED IN A TEST" not in client.get(path).content, "the old release's page, still cached"
    settings.RELEASE = "next-release"  # what a restart with the edit computes (or the deploy sets)
    release.cache_clear()
    assert b"EDITED IN A TEST" in client.get(path).content


def test_the_release_is_a_hash_of_code_and_templates_unless_set(tmp_path, settings, fresh_release):
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<p>one</p>")
    (tmp_path / ".venv").mkdir()
    before = code_hash(tmp_path)
    (tmp_path / ".venv" / "lib.py").write_text("x = 1")  # not the shop's code
    assert code_hash(tmp_path) == before
    page.write_text("<p>two</p>")
    assert code_hash(tmp_path) != before
    assert release() == code_hash(settings.BASE_DIR)
    settings.RELEASE = "v1.2.3"
    release.cache_clear()
    assert release() == "v1.2.3"


def test_with_the_page_cache_off_every_view_is_rendered(client, settings, edited_template):
    settings.PAGECACHE_ENABLED = False  # make run (DEBUG)
    spec = make_product()
    path = f"/p/{spec.slug}/"
    assert b"EDITED IN A TEST" not in client.get(path).content
    edited_template()
    assert b"EDITED IN A TEST" in client.get(path).content
    assert _keys("page:b:") == []


def test_staff_clear_the_page_cache_with_a_command(client, edited_template):
    spec = make_product()
    path = f"/p/{spec.slug}/"
    client.get(path)
    client.get("/")
    edited_template()
    assert b"EDITED IN A TEST" not in client.get(path).content
    out = io.StringIO()
    call_command("clear_page_cache", stdout=out)
    assert "2 cached pages removed" in out.getvalue()
    assert b"EDITED IN A TEST" in client.get(path).content


def wsgi_get(path: str, script_name: str) -> str:
    """A GET through Django's own WSGI handler (the test Client sets no script prefix from SCRIPT_NAME)."""
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": script_name, "QUERY_STRING": "",
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "HTTP_HOST": "testserver", "REMOTE_ADDR": "10.0.0.1",
               "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http"}
    return b"".join(WSGIHandler()(environ, lambda status, headers: None)).decode()


@pytest.mark.django_db(transaction=True)  # (the WSGI handler closes the connection after each request)
def test_a_request_under_another_script_prefix_cannot_poison_the_shared_page():
    """A page's links are reversed under the request's script prefix (SCRIPT_NAME, which gunicorn takes from a
    header its trusted proxy passes on). Cached under the page's key alone, one request under "/gone" made every
    later shopper's copy of the page link to /gone/... (nothing there: the shop's menu and home links broken). The
    prefix is configuration (FORCE_SCRIPT_NAME, from the server's SCRIPT_NAME environment variable)."""
    spec = make_product(name="Prefixed Page")
    path = f"/p/{spec.slug}/"
    for script_name in ("/gone", ""):
        html = wsgi_get(path, script_name)
        assert "/gone/" not in html and 'class="brand" href="/"' in html
