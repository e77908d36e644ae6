"""A NUL character anywhere in a request is a 400 before any view (PostgreSQL cannot store one): never a 500."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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
    # A multipart form's fields as Django parses them, too.
    assert client.post("/cart/add/", {"sku": nul, "quantity": "1"}).status_code == 400
    assert client.get(f"/p/{spec.slug}/").status_code == 200  # everything else as before
    assert client.post(f"/api/v1/carts/{token}/lines/", json.dumps({"sku": spec.variants[0].sku, "quantity": 1}),
                       content_type="application/json").status_code == 201


def test_a_nul_in_a_multipart_form_is_refused_where_a_view_reads_the_form_itself(client):
    """Not every form value reaches a Django form: the payment-cancelled page reads the order number straight from
    the POST, and a NUL there (in a multipart body, which the guard let through) failed in PostgreSQL: a 500."""
    client.raise_request_exception = False
    response = client.post("/checkout/cancel/", {"number": "A\x00B"})
    assert response.status_code == 400
    assert client.post("/checkout/cancel/", {"number": "NO-SUCH"}).status_code == 404  # everything else as before


def test_the_multipart_check_leaves_the_raw_body_to_views_that_read_it(client, settings):
    """The guard parses a multipart body's fields; the webhook reads the raw body. Junk posted to the webhook as a
    form is a 4xx whether the body is small (read first, so both work) or larger than Django keeps in memory (then
    the fields are parsed from the stream, and the webhook refuses what is not JSON without reading it), and a NUL
    behind a large file is still seen."""
    client.raise_request_exception = False
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = SimpleUploadedFile("big.bin", b"x" * 5000)
    for data in ({"type": "checkout.session.completed"}, {"type": "x", "padding": big}):
        assert 400 <= client.post("/payments/stripe/webhook/", data).status_code < 500
    big.seek(0)
    assert client.post("/checkout/cancel/", {"number": "A\x00B", "padding": big}).status_code == 400


def test_a_multipart_body_with_a_content_length_that_is_no_number_is_not_a_500(client):
    """Django reads a Content-Length that is no number as 0; so must the guard (a lenient server passes it on)."""
    client.raise_request_exception = False
    for length in ("abc", "-1", "1e3"):
        response = client.generic("POST", "/checkout/cancel/", b"--x--\r\n",
                                  content_type="multipart/form-data; boundary=x", CONTENT_LENGTH=length)
        assert response.status_code < 500, length
