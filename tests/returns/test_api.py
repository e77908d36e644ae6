"""The returns API (docs/api.md): the order's owner or the holder of its secret asks for a return and follows it; anyone
else gets 404; bad input is a 400 naming the field, with nothing stored. And the OpenAPI schema documents it."""

import json

import pytest
from django.test import Client

from returns import services
from returns.models import Return
from tests.returns.helpers import paid_order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def post(client, number, data, token=""):
    url = f"/api/v1/orders/{number}/returns/" + (f"?token={token}" if token else "")
    raw = data if isinstance(data, str) else json.dumps(data)
    return client.post(url, raw, content_type="application/json")


def test_a_guest_with_the_secret_asks_for_a_return_and_follows_it_to_the_refund(client):
    number, sku, token = paid_order(quantity=2, price="10.00")
    response = post(client, number, {"lines": [{"sku": sku, "quantity": 2}], "reason": "wrong_item",
                                     "note": "sent the blue one"}, token)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("R-") and body["status"] == "requested" and body["refund_amount"] is None
    assert body["lines"][0]["sku"] == sku and body["lines"][0]["quantity"] == 2 and body["order"] == number
    services.return_approve(number=body["number"])
    services.return_receive(number=body["number"])
    services.return_refund(number=body["number"])
    shown = client.get(f"/api/v1/returns/{body['number']}/?token={token}")
    assert shown.status_code == 200 and shown.json()["status"] == "refunded"
    assert shown.json()["refund_amount"] == "20.00" and shown.json()["lines"][0]["restocked"] == 2


def test_the_signed_in_owner_needs_no_token_and_anyone_else_gets_404(django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only")
    number, sku, token = paid_order(quantity=1, user=owner)
    stranger = Client()
    stranger.force_login(django_user_model.objects.create_user("stranger", password="pw-for-tests-only"))
    data = {"lines": [{"sku": sku, "quantity": 1}], "reason": "other"}
    for client, key in ((stranger, ""), (Client(), ""), (Client(), "wrong")):
        response = post(client, number, data, key)
        assert response.status_code == 404 and response.json()["code"] == "order_not_found"
    assert post(Client(), "NO-SUCH", data, token).status_code == 404
    assert Return.objects.count() == 0
    mine = Client()
    mine.force_login(owner)
    created = post(mine, number, data)
    assert created.status_code == 201
    ret = created.json()["number"]
    assert mine.get(f"/api/v1/returns/{ret}/").status_code == 200
    assert stranger.get(f"/api/v1/returns/{ret}/").status_code == 404
    assert Client().get(f"/api/v1/returns/{ret}/?token=wrong").status_code == 404
    assert Client().get(f"/api/v1/returns/{ret}/?token={token}").status_code == 200


@pytest.mark.parametrize(("lines", "extra", "field"), [
    ([{"sku": "SKU", "quantity": 0}], {}, "lines[0].quantity"),
    ([{"sku": "SKU", "quantity": -2}], {}, "lines[0].quantity"),
    ([{"sku": "SKU", "quantity": 1.5}], {}, "lines[0].quantity"),
    ([{"sku": "SKU", "quantity": "one"}], {}, "lines[0].quantity"),
    ([{"sku": "NOPE", "quantity": 1}], {}, "lines[0].sku"),
    ([{"sku": "SKU", "quantity": 1}], {"reason": "bored"}, "reason"),
    ([{"sku": "SKU", "quantity": 1}], {"note": "n" * 100_000}, "note"),
    ([], {}, "lines"),
])
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_stored(client, lines, extra, field):
    number, sku, token = paid_order(quantity=2)
    lines = [{**line, "sku": sku if line.get("sku") == "SKU" else line.get("sku")} for line in lines]
    response = post(client, number, {"lines": lines, "reason": "other", **extra}, token)
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and response.json()["message"]
    assert Return.objects.count() == 0


def test_more_than_was_bought_is_a_409_naming_what_is_left(client):
    number, sku, token = paid_order(quantity=2)
    response = post(client, number, {"lines": [{"sku": sku, "quantity": 3}], "reason": "other"}, token)
    assert response.status_code == 409 and response.json()["code"] == "return_refused"
    assert response.json()["returnable"] == 2 and Return.objects.count() == 0


@pytest.mark.parametrize("raw", ["{", "[]", "null", '"text"', "1"])
def test_a_body_that_is_not_a_return_is_a_400(client, raw):
    number, _, token = paid_order(quantity=1)
    assert post(client, number, raw, token).status_code == 400
    assert Return.objects.count() == 0


def test_the_openapi_schema_documents_both_endpoints(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    create = paths["/api/v1/orders/{number}/returns/"]["post"]
    assert {"201", "400", "404", "409"} <= set(create["responses"])
    assert "requestBody" in create
    assert "200" in paths["/api/v1/returns/{number}/"]["get"]["responses"]
    components = schema.json()["components"]["schemas"]
    assert set(components["ReturnRequestBody"]["properties"]) == {"lines", "reason", "note"}
    assert "refund_amount" in components["Return"]["properties"]
