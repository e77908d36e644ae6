import json

import pytest

from cart import services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def post(client, path, body, **extra):
    return client.post(path, json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def sku():
    return make_product(name="Camp Stove", price="49.00", stock=3).variants[0].sku


@pytest.fixture
def token(client):
    return client.post("/api/v1/carts/").json()["token"]


def test_create_a_cart(client):
    response = client.post("/api/v1/carts/")
    assert response.status_code == 201
    body = response.json()
    assert body["lines"] == [] and body["subtotal"] == "0.00" and body["currency"] == "USD" and body["token"]


def test_add_get_patch_delete_a_line(client, token, sku):
    first = post(client, f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 1})
    assert first.status_code == 201
    again = post(client, f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 1})
    assert again.status_code == 200
    assert again.json()["lines"] == [{"sku": sku, "name": "Camp Stove — Option 0", "quantity": 2,
                                      "unit_price": "49.00", "line_total": "98.00"}]
    assert client.get(f"/api/v1/carts/{token}/").json()["subtotal"] == "98.00"
    patched = client.patch(f"/api/v1/carts/{token}/lines/{sku}/", json.dumps({"quantity": 1}),
                           content_type="application/json")
    assert patched.json()["lines"][0]["quantity"] == 1
    removed = client.delete(f"/api/v1/carts/{token}/lines/{sku}/")
    assert removed.status_code == 200 and removed.json()["lines"] == []


def test_patch_to_zero_removes(client, token, sku):
    post(client, f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 2})
    response = client.patch(f"/api/v1/carts/{token}/lines/{sku}/", json.dumps({"quantity": 0}),
                            content_type="application/json")
    assert response.json()["lines"] == []


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"sku": "NOPE", "quantity": 1}, 404, "unknown_sku"),
    ({"quantity": 1}, 400, "invalid_input"),
    ({"sku": "{sku}"}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": 0}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": -1}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": 100}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": 1e9}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": "abc"}, 400, "invalid_quantity"),
    ({"sku": "{sku}", "quantity": 4}, 409, "insufficient_stock"),
])
def test_bad_lines_get_the_documented_answer(client, token, sku, body, status, code):
    body = {k: (v.format(sku=sku) if isinstance(v, str) else v) for k, v in body.items()}
    response = post(client, f"/api/v1/carts/{token}/lines/", body)
    assert response.status_code == status, response.content
    assert response.json()["code"] == code and response.json()["message"]
    if code == "insufficient_stock":
        assert response.json()["available"] == 3
    assert client.get(f"/api/v1/carts/{token}/").json()["lines"] == []


def test_malformed_json_is_a_400(client, token):
    response = client.post(f"/api/v1/carts/{token}/lines/", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("method", ["get", "post", "patch", "delete"])
def test_unknown_tokens_are_404(client, sku, method):
    path = "/api/v1/carts/no-such-token/" + ("" if method == "get" else "lines/" + ("" if method == "post" else
                                                                                 f"{sku}/"))
    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, json.dumps({"sku": sku, "quantity": 1}),
                                           content_type="application/json")
    assert response.status_code == 404 and response.json()["code"] == "cart_not_found"


def test_a_signed_in_shoppers_cart_is_theirs_alone(client, sku, django_user_model):
    from django.test import Client

    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only")
    client.force_login(owner)
    token = services.cart_create(user_id=owner.pk).token
    assert client.get(f"/api/v1/carts/{token}/").status_code == 200
    stranger = Client()
    assert stranger.get(f"/api/v1/carts/{token}/").status_code == 404
    assert post(stranger, f"/api/v1/carts/{token}/lines/", {"sku": sku, "quantity": 1}).status_code == 404
    assert services.cart_get(token=token, user_id=owner.pk).lines == ()  # the stranger added nothing


def test_adding_a_line_keeps_the_apis_rules(client, token, sku, django_user_model):
    from django.test import Client

    url = f"/api/v1/carts/{token}/lines/"
    form = client.post(url, {"sku": sku, "quantity": "1"})  # a form body, not JSON
    assert form.status_code == 415 and form.json()["code"] == "unsupported_media_type"
    listed = client.post(url, "[1, 2]", content_type="application/json")
    assert listed.status_code == 400 and listed.json()["code"] == "invalid_input"
    # Signed in through the session (a browser): CSRF applies, as DRF's SessionAuthentication has it.
    user = django_user_model.objects.create_user(username="ada@example.com", password="pw-123-long")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    mine = services.cart_create(user_id=user.pk).token
    body = json.dumps({"sku": sku, "quantity": 1})
    refused = browser.post(f"/api/v1/carts/{mine}/lines/", body, content_type="application/json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    token_value = "A" * 32  # the secret a page would have set in the CSRF cookie, echoed in the header
    browser.cookies["csrftoken"] = token_value
    allowed = browser.post(f"/api/v1/carts/{mine}/lines/", body, content_type="application/json",
                           HTTP_X_CSRFTOKEN=token_value)
    assert allowed.status_code == 201
    # A script with no session needs no CSRF token.
    assert Client(enforce_csrf_checks=True).post(url, body, content_type="application/json").status_code == 201


def test_reading_a_cart_needs_no_csrf_token_and_ignores_a_body(client, token, sku, django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_user(username="ada@example.com", password="pw-123-long")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    mine = services.cart_create(user_id=user.pk).token
    services.cart_add(token=mine, sku=sku, quantity=2, user_id=user.pk)
    read = browser.get(f"/api/v1/carts/{mine}/")  # a safe method: no token needed, signed in or not
    assert read.status_code == 200 and read.json()["lines"][0]["quantity"] == 2
    assert read["Content-Type"] == "application/json"
    odd = client.generic("GET", f"/api/v1/carts/{token}/", "not json", content_type="text/plain")
    assert odd.status_code == 200 and odd.json()["token"] == token
    assert client.head(f"/api/v1/carts/{token}/").status_code == 200
