"""A NUL character anywhere in a request is a 400 before any view (PostgreSQL cannot store one): never a 500."""

import json

import pytest

from cart import services as cart_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_nul_characters_are_refused_wherever_they_come(client):
    spec = make_product(name="Plain Mug")
    token = cart_services.cart_create().token
    nul = "A\x00B"
    answers = {
        "sku in a JSON body": client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": nul, "quantity": 1}),
                                          content_type="application/json"),
        "sku in a path": client.patch(f"/api/v1/carts/{token}/lines/A%00B/", json.dumps({"quantity": 1}),
                                      content_type="application/json"),
        "order number": client.get("/api/v1/orders/A%00B/"),
        "product slug": client.get("/api/v1/products/a%00b/"),
        "attribute filter": client.get("/search/?q=mug&attr_size=%00"),
        "a form": client.post("/cart/add/", "sku=A%00B&quantity=1", content_type="application/x-www-form-urlencoded"),
    }
    for what, response in answers.items():
        assert response.status_code == 400, what
    assert answers["sku in a JSON body"].json()["code"] == "invalid_input"
    # A multipart form is left to Django's forms, which refuse NUL characters themselves: never a 500 either.
    assert client.post("/cart/add/", {"sku": nul, "quantity": "1"}).status_code < 500
    assert client.get(f"/p/{spec.slug}/").status_code == 200  # everything else as before
    assert client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": spec.variants[0].sku, "quantity": 1}),
                       content_type="application/json").status_code == 201
