"""Bad input, generated: hundreds of junk form posts and junk query strings (fixed seeds, so a failure repeats)
across the shop's forms and listings. Each may be refused, never answered with a 500."""

import random

import pytest
from django.test import Client

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
