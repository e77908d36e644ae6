"""Bad input, generated: hundreds of junk form posts and junk query strings (fixed seeds, so a failure repeats)
across the shop's forms and listings; hostile headers, cookies and query strings on every page; pathological JSON
for the API. Each may be refused or ignored, never answered with a 500, and nothing stored changes. (The API's
documented inputs are fuzzed from its OpenAPI schema in test_schema_fuzz.py.)"""

import json
import random

import pytest
from django.test import Client

from cart import services as cart_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db

JUNK = ["", " ", "0", "-1", "100", "1e9", "1e309", "abc", "<script>x</script>", "é" * 300, "x" * 5000,
        "'; DROP TABLE x;--", "1.5", "NaN", "inf", "GB", "zz", "a@b", "ada@example.com", "4242424242424242",
        "4000000000000002", "\u202e", "%", "0" * 30, "9" * 40, "null", "true", "price", "-price", "evil", "a\x00b"]
FORMS = {
    "/cart/add/": ["sku", "quantity"],
    "/cart/update/": ["sku", "quantity"],
    "/cart/remove/": ["sku"],
    "/checkout/": ["idempotency_key", "expected_total", "email", "name", "line1", "line2", "city", "postal_code",
                   "country", "card_number"],
    "/account/signup/": ["email", "password1", "password2"],
    "/account/login/": ["username", "password"],
    "/account/password-reset/": ["email"],
}
LISTINGS = ["/search/", "/c/gear/", "/c/no-such/", "/", "/api/v1/products/", "/api/v1/suggest/", "/cart/",
            "/p/no-such/", "/checkout/", "/account/orders/", "/api/v1/categories/"]
PARAMS = ["q", "category", "min_price", "max_price", "in_stock", "sort", "page", "attr_size", "attr_colour", "attr_x!"]


@pytest.fixture
def shop(settings):
    settings.RATE_LIMITS = {}  # the limits answer 429 soon enough; here every request must reach its view
    return make_product(name="Trail Mug", stock=5)


def test_junk_form_posts_are_refused_not_failed(shop):
    rng = random.Random(5)
    client = Client(raise_request_exception=False)
    real_sku = shop.variants[0].sku
    failures = []
    for n in range(300):
        if n % 60 == 0:
            client.post("/cart/add/", {"sku": real_sku, "quantity": "1"})
        url = rng.choice(list(FORMS))
        fields = rng.sample(FORMS[url], rng.randint(0, len(FORMS[url])))
        data = {field: rng.choice([*JUNK, real_sku]) for field in fields}
        status = client.post(url, data).status_code
        if status >= 500:
            failures.append((url, data, status))
    assert not failures, failures[:3]


def test_every_junk_value_of_every_listing_parameter_is_refused_or_ignored_not_failed(shop):
    client = Client(raise_request_exception=False)
    failures = []
    for path in ("/search/", "/c/gear/", "/api/v1/products/"):
        for key in PARAMS:
            for value in JUNK:
                status = client.get(path, {"q": "mug", key: value}).status_code
                if status >= 500:
                    failures.append((path, key, value[:20], status))
    assert not failures, failures[:3]


def test_junk_query_strings_are_refused_or_ignored_not_failed(shop):
    rng = random.Random(7)
    client = Client(raise_request_exception=False)
    failures = []
    for _ in range(200):
        path = rng.choice(LISTINGS)
        params = {key: rng.choice([*JUNK, "gear", "M"]) for key in rng.sample(PARAMS, rng.randint(0, 5))}
        status = client.get(path, params).status_code
        if status >= 500:
            failures.append((path, params, status))
    assert not failures, failures[:3]


# ---------------------------------------------------------------- hostile headers, cookies and query strings
# Every page and a few API reads, with headers and cookies no browser sends and query strings no form makes: each
# answer is a 4xx or the page as usual — never a 500 — and nothing stored changes (reads stay reads).
ALPHABETS = ["mug", "ÄÖÜßé", "кружка", "杯子マグ", "كوب", "\u202emug\u202c", "m\u0301\u0302\u0303ug", "🍵" * 50,
             "\u200b\u200d\ufeff", "\U0010ffff", "a b\tc\nd", "%", "%zz%", "+", "&&==&", "\\", "'\"<>`"]
QUERY_JUNK = [*JUNK, *ALPHABETS, "9" * 5000, "-9" * 30, "1e999999", "0x10", "1_000", "١٢٣", "²", "q" * 100_000]
HOSTILE_HEADERS = {
    "HTTP_HOST": ["evil.example", "x" * 5000, "localhost:99999999999", "localhost\r\nX-Injected: 1", "[::1",
                  "ümlaut.example", "127.0.0.1:8000@evil.example", "localhost\x01", ""],
    "HTTP_COOKIE": ["sessionid=" + "a" * 5000, "csrftoken=\x01\x02; sessionid=\x7f\x1b", "=;=;;;==", "a" * 20_000,
                    "sessionid=../../etc/passwd; messages=%00%ff", "x=" + "é" * 300, "sessionid=\"\\\"", ";" * 3000,
                    "csrftoken=" + "A" * 64 + "; sessionid=" + "b" * 32, "messages=W10:1abc:zzz"],
    "HTTP_USER_AGENT": ["\x00\x01\x7f", "Mozilla/5.0 " * 2000, "é€😀"],
    "HTTP_ACCEPT_LANGUAGE": ["zz-ZZ;q=abc," * 500, "de-DE;q=1.5,*;q=-1", "\x1b[31m", "x" * 10_000],
    "HTTP_ACCEPT": ["*/*;q=x", "text/html;" * 1000, "application/json; charset=\x00", "🙃/🙃"],
    "HTTP_ACCEPT_ENCODING": ["gzip;q=NaN, br;q=1e999", "\x00"],
    "HTTP_REFERER": ["javascript:alert(1)", "http://\x01/", "//evil.example", "x" * 10_000],
    "HTTP_X_FORWARDED_FOR": ["1.2.3.4, " * 1000, "not-an-ip", "::ffff:1.2.3.4\x00"],
    "HTTP_X_FORWARDED_PROTO": ["https, http", "\x00"],
    "HTTP_IF_NONE_MATCH": ['"' * 1000, "W/\x00", "*"],
    "HTTP_IF_MODIFIED_SINCE": ["Tue, 99 Foo 9999 99:99:99 GMT", "0" * 100, "Thu, 01 Jan 1970 00:00:00 GMT"],
    "HTTP_RANGE": ["bytes=999999999999999999999-", "bytes=-0", "pages=1-2"],
    "HTTP_AUTHORIZATION": ["Basic \x00==", "Bearer " + "x" * 9000, "Basic " + "é" * 10],
    "HTTP_X_REQUESTED_WITH": ["XMLHttpRequest" * 100],
    "HTTP_X_CSRFTOKEN": ["\x00", "z" * 5000],
}


def _stored() -> dict:
    """What the shop keeps, counted: reading pages must not change any of it."""
    from django.apps import apps

    counts = {label: apps.get_model(label).objects.count() for label in (
        "orders.Order", "orders.OrderLine", "orders.OrderEvent", "payments.Payment", "inventory.StockMovement",
        "inventory.Reservation", "auth.User", "sessions.Session")}
    levels = apps.get_model("inventory.StockLevel").objects.order_by("pk").values_list("on_hand", "reserved")
    return {**counts, "levels": list(levels)}


@pytest.fixture
def pages(shop, client):
    from tests.orders.helpers import body, cart_with, checkout

    token, _ = cart_with(1)
    placed = checkout(client, body(token)).json()
    return ["/", "/search/", "/c/gear/", f"/p/{shop.slug}/", "/p/no-such/", "/cart/", "/checkout/",
            f"/orders/{placed['number']}/", f"/orders/{placed['number']}/?token={placed['access_token']}",
            "/checkout/line/no-such-ticket/", "/checkout/return/", "/checkout/cancel/", "/account/", "/account/login/",
            "/account/signup/", "/account/signup/sent/", "/account/password-reset/", "/account/orders/",
            "/account/activate/MQ/x-y/", "/account/reset/MQ/set-password/", "/account/reset/done/", "/healthz",
            "/api/v1/products/", "/api/v1/categories/", "/api/v1/suggest/", f"/api/v1/products/{shop.slug}/",
            "/api/v1/carts/no-such/", "/api/v1/orders/", "/api/schema/", "/admin/login/"]


def test_hostile_headers_and_cookies_on_every_page_are_refused_or_ignored(pages):
    client = Client(raise_request_exception=False)
    before = _stored()
    failures = []
    for header, values in HOSTILE_HEADERS.items():
        for n, value in enumerate(values):
            for path in pages[n % 3::3]:  # each value on a third of the pages, every page by some value
                status = client.get(path, **{header: value}).status_code
                if status >= 500:
                    failures.append((path, header, value[:40], status))
    assert not failures, failures[:5]
    assert _stored() == before


def test_hostile_query_strings_on_every_page_are_refused_or_ignored(pages):
    rng = random.Random(11)
    client = Client(raise_request_exception=False)
    before = _stored()
    failures = []
    for path in pages:
        for _ in range(12):
            params = [(key, rng.choice(QUERY_JUNK)) for key in rng.sample([*PARAMS, "next", "token", "ticket"],
                                                                          rng.randint(1, 4))]
            if rng.random() < 0.3:
                params.append(params[0])  # the same parameter twice
            status = client.get(path, params).status_code
            if status >= 500:
                failures.append((path, [(k, v[:30]) for k, v in params], status))
        for raw in ("page=%ff%fe", "q=%ED%A0%80", "sort=%", "&&&=&=", "q" * 50_000 + "=1", "page=" + "9" * 5000,
                    "a[b][c]=1&a[]=2", "q=%C0%AF"):
            status = client.get(path, QUERY_STRING=raw).status_code
            if status >= 500:
                failures.append((path, raw[:40], status))
    assert not failures, failures[:5]
    assert _stored() == before


# ---------------------------------------------------------------- pathological JSON
# Bodies a JSON parser accepts but no client should send (numbers past a float, lone surrogates, deep nesting):
# each is a 4xx naming the problem, and nothing is stored.
PATHOLOGICAL = ['{"sku": "%s", "quantity": 1e400}', '{"sku": "%s", "quantity": -1e400}',
                '{"sku": "%s", "quantity": 1e308}', '{"sku": "%s", "quantity": 1.0000000000000001}',
                '{"sku": "%s", "quantity": -0.0}', '{"sku": "%s", "quantity": NaN}',
                '{"sku": "%s", "quantity": Infinity}',
                '{"sku": "%s", "quantity": ' + "9" * 5000 + "}", '{"sku": "%s", "quantity": "1"}',
                '{"sku": "\\ud800", "quantity": 1}', '{"sku": "%s\\udfff", "quantity": 1}',
                '{"sku": "%s", "quantity": 1, "sku": ["x"]}', '{"sku": {"%s": 1}, "quantity": [1]}',
                '[' * 100_000 + ']' * 100_000, '{"a":' * 50_000 + '1' + '}' * 50_000, '"%s"', "1e400", "null", ""]


def test_pathological_json_is_refused_not_failed(shop, client):
    from tests.orders.helpers import body, cart_with, checkout

    token, sku = cart_with(1)
    before = _stored()
    failures = []
    for template in PATHOLOGICAL:
        raw = template.replace("%s", sku)
        for method, url in (("post", f"/api/v1/carts/{token}/lines/"),
                            ("patch", f"/api/v1/carts/{token}/lines/{sku}/")):
            status = getattr(client, method)(url, raw, content_type="application/json").status_code
            if status >= 500:
                failures.append((method, raw[:60], status))
    good = body(token)
    for path, value in ((("payment", "card_number"), "²" * 16), (("payment", "card_number"), "١٢٣٤" * 4),
                        (("email",), "\ud800@example.com"), (("shipping_address", "name"), "Ada \udfff"),
                        (("shipping_address", "city"), "\ud83d"), (("cart_token",), "\udc00"),
                        (("expected_total",), 1e308), (("expected_total",), "1e400"), (("expected_total",), "NaN"),
                        (("expected_total",), 10 ** 30), (("expected_total",), "-0"), (("expected_total",), [1])):
        sent = json.loads(json.dumps(good))
        target = sent
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        response = checkout(client, json.dumps(sent))
        if response.status_code >= 500:
            failures.append((path, repr(value)[:30], response.status_code))
    for raw in ('{"cart_token": 1e400}', '{"payment": {"method": "card", "card_number": 4.2e15}}', "NaN",
                '{"email": "' + "a" * 1_000_000 + '@x.io"}'):
        response = checkout(client, raw)
        if response.status_code >= 500:
            failures.append(("checkout", raw[:40], response.status_code))
    assert not failures, failures[:5]
    after = _stored()
    assert {k: v for k, v in after.items() if k != "sessions.Session"} == \
        {k: v for k, v in before.items() if k != "sessions.Session"}


def test_the_text_percent_00_in_a_json_body_is_text_not_a_nul(shop, client):
    """Only urlencoded bodies and query strings spell a NUL "%00"; in JSON it is three characters (an e-mail
    address or a note may hold them), while the escape \\u0000 is a NUL."""
    token = cart_services.cart_create().token
    as_text = client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": "A%00B", "quantity": 1}),
                          content_type="application/json")
    assert as_text.status_code == 404 and as_text.json()["code"] == "unknown_sku"
    escaped = client.post(f"/api/v1/carts/{token}/lines/", '{"sku": "A\\u0000B", "quantity": 1}',
                          content_type="application/json")
    assert escaped.status_code == 400 and "NUL" in escaped.json()["message"]


def test_a_json_body_in_another_charset_cannot_smuggle_a_nul(shop, client):
    """The API decodes a JSON body in the charset its Content-Type names. In UTF-7 "+AFw-u0000" is the escape
    \\u0000, which the NUL guard (reading the raw bytes) did not see: a return's note with it failed in PostgreSQL,
    a 500. JSON is UTF-8 (RFC 8259); a body in another charset is a 400, and nothing is stored."""
    from tests.returns.helpers import paid_order

    number, sku, token = paid_order(quantity=1)
    before = _stored()
    raw = json.dumps({"lines": [{"sku": sku, "quantity": 1}], "reason": "wrong_item", "note": "A+AFw-u0000B"}).encode()
    for charset in ("utf-7", "UTF-7", "utf-16", "latin-1"):
        response = client.generic("POST", f"/api/v1/orders/{number}/returns/?token={token}", raw,
                                  content_type=f"application/json; charset={charset}")
        assert response.status_code == 400, (charset, response.content)
    assert {k: v for k, v in _stored().items() if k != "sessions.Session"} == \
        {k: v for k, v in before.items() if k != "sessions.Session"}
    utf8 = client.generic("POST", f"/api/v1/orders/{number}/returns/?token={token}", raw,
                          content_type="application/json; charset=UTF-8")
    assert utf8.status_code == 201 and utf8.json()["note"] == "A+AFw-u0000B"  # in UTF-8 it is only text


@pytest.mark.parametrize("secret", ["", "whsec_test_secret_for_the_fuzz"])
def test_junk_at_the_stripe_webhook_is_refused_not_failed(shop, settings, secret):
    """The webhook is no part of the OpenAPI schema (Stripe calls it): junk bodies and signatures get a 4xx."""
    settings.STRIPE_WEBHOOK_SECRET = secret
    client = Client(raise_request_exception=False)
    before = _stored()
    failures = []
    signatures = ["", "t=1,v1=abc", "t=" + "9" * 400 + ",v1=", "v1=" * 1000, "\x00\x01", "t=-1,v1=zz,v0=é"]
    bodies = ["", "{}", '{"type": "payment_intent.succeeded", "data": {"object": {"id": "pi_x"}}}', "[" * 10_000,
              '{"id": "\\ud800"}', "\xff\xfe", "NaN", '{"type": 1e400}', "x" * 100_000]
    for signature in signatures:
        for raw in bodies:
            status = client.post("/payments/stripe/webhook/", raw, content_type="application/json",
                                 HTTP_STRIPE_SIGNATURE=signature).status_code
            if status >= 500 or status < 400:
                failures.append((signature[:20], raw[:30], status))
    assert not failures, failures[:5]
    assert _stored() == before
