"""The saga's money edges (issue "Real money"): each test states an edge that once lost or doubled money.

Faults are injected where they would really happen: Redis becomes unreachable (the cache settings point at a dead
port, as tests/cart/test_resilience.py does), the test gateway loses an answer, or a request dies with a
BaseException that nothing in the store catches (a process killed mid-request leaves the same state behind: the
PostgreSQL session that held the key's lock is gone). Real processes are killed in test_faults.py."""

import hashlib
import json
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client, override_settings

from cart import services as cart_services
from inventory import services as inventory_services
from orders import services
from orders.models import CheckoutRequest, Order
from payments import services as payment_services
from payments.gateways import TestGateway, currency_exponent, to_minor_units
from payments.models import Payment, SandboxCharge
from payments.types import CardDetails
from store.core import outbox
from tests.cart.test_resilience import DEAD_REDIS
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db
VISA = CardDetails(method="card", card_number="4242424242424242")


class ProcessDied(BaseException):
    """What a SIGKILL leaves behind, as far as this process can show it: nothing after this point runs."""


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


def die_after_the_charge(client, after_charge, data: dict, key: str) -> None:
    """A checkout whose process dies right after the gateway took the money (the key stays claimed, the order
    pending, the payment unrecorded)."""
    def die():
        raise ProcessDied

    after_charge(die)
    with pytest.raises(ProcessDied):
        checkout(client, data, key=key)
    after_charge(lambda: None)


@pytest.fixture
def after_charge(monkeypatch):
    """Run ``then`` right after the test gateway really charged (or declined)."""
    def install(then):
        real = TestGateway.charge

        def charge(self, **kwargs):
            answer = real(self, **kwargs)
            then()
            return answer

        monkeypatch.setattr(TestGateway, "charge", charge)
    return install


class _DeadRedis:
    """Redis unreachable from the moment ``enable`` is called until ``disable``."""

    def __init__(self):
        self.override, self.on = override_settings(CACHES=DEAD_REDIS), False

    def enable(self):
        self.override.enable()
        self.on = True

    def disable(self):
        if self.on:
            self.override.disable()
            self.on = False


@pytest.fixture
def dead_redis():
    dead = _DeadRedis()
    yield dead
    dead.disable()


# ---------------------------------------------------------------- a. failures after the charge, transient refusals
def test_redis_failing_after_the_charge_is_not_the_keys_answer_the_paid_order_is(client, after_charge, dead_redis):
    token, sku = cart_with(1, stock=3)
    after_charge(dead_redis.enable)  # Redis goes away between the charge and emptying the cart
    first = checkout(client, body(token), key="k-after-charge")
    dead_redis.disable()
    assert first.status_code == 201 and first.json()["status"] == "paid"
    again = checkout(client, body(token), key="k-after-charge")
    assert (again.status_code, again.json()["number"]) == (201, first.json()["number"])
    assert SandboxCharge.objects.count() == 1 and Order.objects.count() == 1 and levels(sku) == (2, 0)
    assert cart_services.cart_get(token=token).lines  # not emptied then...
    outbox.relay_pending()
    assert not cart_services.cart_get(token=token).lines  # ...but through the outbox once Redis is back


def test_a_503_before_anything_happened_is_not_stored_the_same_key_may_try_again(client, dead_redis):
    token, sku = cart_with(1, stock=3)
    dead_redis.enable()
    refused = checkout(client, body(token), key="k-transient")
    dead_redis.disable()
    assert refused.status_code == 503 and refused["Retry-After"]
    assert not CheckoutRequest.objects.exists() and not Order.objects.exists()
    retried = checkout(client, body(token), key="k-transient")
    assert retried.status_code == 201 and levels(sku) == (2, 0)


def test_a_key_whose_request_died_after_the_charge_answers_with_its_paid_order(client, after_charge):
    token, sku = cart_with(1, stock=3)
    die_after_the_charge(client, after_charge, body(token), "k-died-paid")
    again = checkout(client, body(token), key="k-died-paid")
    assert again.status_code == 201, again.json()
    assert again.json()["number"] == Order.objects.get().number and again.json()["status"] == "paid"
    assert SandboxCharge.objects.count() == 1 and levels(sku) == (2, 0)
    assert checkout(client, body(token), key="k-died-paid").json() == again.json()  # now stored


def test_a_key_whose_request_died_before_charging_answers_with_its_order_cancelled_and_uncharged(client,
                                                                                                monkeypatch):
    token, sku = cart_with(1, stock=3)

    def die(self, **kwargs):
        raise ProcessDied

    monkeypatch.setattr(TestGateway, "charge", die)
    with pytest.raises(ProcessDied):
        checkout(client, body(token), key="k-died-unpaid")
    monkeypatch.undo()
    again = checkout(client, body(token), key="k-died-unpaid")
    assert again.status_code == 402 and again.json()["number"] == Order.objects.get().number
    assert Order.objects.get().status == "cancelled" and levels(sku) == (3, 0)
    assert not SandboxCharge.objects.filter(outcome="succeeded").exists()
    # The charge the dead request was about to send can never take money now: the key is voided at the gateway.
    assert TestGateway().charge(amount=Decimal("25.00"), currency="USD", card=VISA,
                                idempotency_key=f"order-{again.json()['number']}").outcome == "declined"


def test_a_key_whose_request_died_before_any_order_runs_again(client, monkeypatch):
    token, sku = cart_with(1, stock=3)

    def die(**kwargs):
        raise ProcessDied

    monkeypatch.setattr(inventory_services, "stock_reserve", die)
    with pytest.raises(ProcessDied):
        checkout(client, body(token), key="k-died-early")
    monkeypatch.undo()
    assert not CheckoutRequest.objects.exists()
    assert checkout(client, body(token), key="k-died-early").status_code == 201 and levels(sku) == (2, 0)


def test_a_key_still_running_elsewhere_is_in_progress_not_run_twice(client, settings):
    """A claim whose lock is held by another live connection: the repeat waits, then 409 with Retry-After."""
    from django.db import connections

    from orders import idempotency

    settings.RATE_LIMITS = {}
    token, _ = cart_with(1, stock=3)
    data = body(token)
    owner = idempotency.owner_of(user_id=None, cart_token=token)
    request = CheckoutRequest.objects.create(owner=owner, key="k-running", request_hash=idempotency.fingerprint(data))
    other = connections.create_connection("default")  # another process's session, holding the key's lock
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [idempotency.LOCK_BASE + request.pk])
        idempotency.WAIT_S, waited = 0.2, idempotency.WAIT_S
        try:
            response = checkout(client, data, key="k-running")
        finally:
            idempotency.WAIT_S = waited
    finally:
        other.close()
    assert response.status_code == 409 and response.json()["code"] == "idempotency_in_progress"
    assert response["Retry-After"] and not Order.objects.exists()


# ---------------------------------------------------------------- b. cancelling while the payment is in flight
def test_cancelling_an_order_whose_charge_got_no_answer_settles_it_first_and_refunds_money_taken(client,
                                                                                               monkeypatch):
    real = TestGateway.charge

    def lost(self, **kwargs):
        real(self, **kwargs)
        raise TimeoutError("no answer")

    monkeypatch.setattr(TestGateway, "charge", lost)
    token, sku = cart_with(1, stock=3, price="20.00")
    number = checkout(client, body(token)).json()["number"]
    assert Order.objects.get(number=number).status == "pending_payment"
    services.order_cancel(number=number, note="staff cancelled")
    payment = Payment.objects.get(order_reference=number)
    assert payment.refunded_amount == payment.amount == Decimal("20.00")  # no cancelled order keeps money
    assert Order.objects.get(number=number).status == "refunded" and levels(sku) == (3, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_cancelling_an_unpaid_order_before_its_charge_arrives_voids_the_charge(client, monkeypatch):
    def lost(self, **kwargs):
        raise TimeoutError("the request is still on its way")

    monkeypatch.setattr(TestGateway, "charge", lost)
    token, sku = cart_with(1, stock=3)
    number = checkout(client, body(token)).json()["number"]
    services.order_cancel(number=number, note="staff cancelled")
    monkeypatch.undo()
    late = TestGateway().charge(amount=Decimal("25.00"), currency="USD", card=VISA,
                                idempotency_key=f"order-{number}")  # the lost request finally arrives
    assert late.outcome == "declined"
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (3, 0)


# ---------------------------------------------------------------- d. keys and tickets belong to who made them
def test_another_shoppers_same_key_neither_replays_the_first_answer_nor_is_blocked(client):
    token, _ = cart_with(1, stock=5)
    first = checkout(client, body(token), key="shared-key")
    other_token, _ = cart_with(1, stock=5)
    stranger = Client()
    second = checkout(stranger, body(other_token, email="stranger@example.com"), key="shared-key")
    assert second.status_code == 201 and second.json()["number"] != first.json()["number"]
    assert first.json()["access_token"] not in json.dumps(second.json())


def test_signed_in_shoppers_keys_are_their_own(django_user_model):
    ada = django_user_model.objects.create_user("ada", "ada@example.com", "pw-for-tests-only")
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-for-tests-only")
    answers = []
    for user in (ada, bob):
        shopper = Client()
        shopper.force_login(user)
        token, _ = cart_with(1, stock=5, user_id=user.pk)
        answers.append(checkout(shopper, body(token, email=user.email), key="same-key"))
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["number"] != answers[1].json()["number"]


def test_queue_tickets_are_random_not_derived_from_the_key(client, settings):
    settings.CHECKOUT_QUEUE_AFTER = 0
    token, _ = cart_with()
    poll = checkout(client, body(token), key="k-queued").json()["poll_url"]
    ticket = poll.rstrip("/").rsplit("/", 1)[1]
    assert ticket != hashlib.sha256(b"checkout:k-queued").hexdigest()[:32]
    assert checkout(client, body(token), key="k-queued").json()["poll_url"] == poll  # the same shopper's retry
    other = checkout(Client(), body(cart_with()[0]), key="k-queued").json()["poll_url"]
    assert other != poll


# ---------------------------------------------------------------- f. minor units
@pytest.mark.parametrize(("amount", "currency", "minor"), [
    ("12.50", "USD", 1250), ("1200", "JPY", 1200), ("1200.00", "jpy", 1200), ("1.234", "KWD", 1230),
    ("0.01", "EUR", 1), ("99999.99", "USD", 9999999),
])
def test_amounts_go_to_the_gateway_in_the_currencys_minor_units(amount, currency, minor):
    assert to_minor_units(Decimal(amount), currency) == minor
    assert currency_exponent(currency) in (0, 2, 3)


# ---------------------------------------------------------------- test payments only where asked for
def test_test_card_payments_are_refused_outside_test_mode(client, settings):
    settings.PAYMENTS_TEST_MODE = False
    token, sku = cart_with(1, stock=3)
    response = checkout(client, body(token))
    assert response.status_code == 400 and response.json()["code"] == "test_payments_disabled"
    assert not Order.objects.exists() and levels(sku) == (3, 0)
    client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    page = client.get("/checkout/")
    assert b"card_number" not in page.content and b"cannot take payments" in page.content


# ---------------------------------------------------------------- the e-mail's link and statuses in words
def test_the_receipts_link_opens_the_order_for_a_guest(client):
    token, _ = cart_with(1, stock=3)
    number = checkout(client, body(token, email="guest@example.com")).json()["number"]
    outbox.relay_pending()
    receipt = next(m for m in mail.outbox if number in m.subject)
    link = next(word for word in receipt.body.split() if f"/orders/{number}/?token=" in word)
    page = Client().get(link[link.index("/orders/"):].rstrip(".,)"))
    assert page.status_code == 200 and number.encode() in page.content
    assert b"Pending payment" in page.content and b"Pendingpayment" not in page.content


# ---------------------------------------------------------------- bad input: a 400 naming the field, nothing done
@pytest.mark.parametrize(("change", "field"), [
    ({"cart_token": 12}, "cart_token"),
    ({"cart_token": "x" * 5000}, "cart_token"),
    ({"email": ["a@b.c"]}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"shipping_address": "London"}, "shipping_address"),
    ({"shipping_address": {"name": "A", "line1": "B", "city": "C", "postal_code": "D", "country": "GBR"}},
     "shipping_address.country"),
    ({"shipping_address": {"name": None, "line1": "B", "city": "C", "postal_code": "D", "country": "GB"}},
     "shipping_address.name"),
    ({"shipping_address": {"name": "A" * 10_000, "line1": "B", "city": "C", "postal_code": "D", "country": "GB"}},
     "shipping_address.name"),
    ({"shipping_address": {"name": "A", "line1": "B", "city": "C", "postal_code": {"x": 1}, "country": "GB"}},
     "shipping_address.postal_code"),
    ({"payment": None}, "payment"),
    ({"payment": {"method": ["card"]}}, "payment.method"),
    ({"payment": {"method": "card", "card_number": 4242424242424242}}, "payment.card_number"),
    ({"payment": {"method": "card", "card_number": "4242" * 1000}}, "payment.card_number"),
    ({"payment": {"method": "stripe", "payment_method": "pm_x"}}, "payment.method"),
    ({"expected_total": "NaN"}, "expected_total"),
    ({"expected_total": "Infinity"}, "expected_total"),
    ({"expected_total": "-1"}, "expected_total"),
    ({"expected_total": "1e999999"}, "expected_total"),
    ({"expected_total": True}, "expected_total"),
    ({"expected_total": {"amount": 1}}, "expected_total"),
])
def test_a_malformed_checkout_is_a_400_naming_the_field_and_nothing_happens(client, change, field):
    token, sku = cart_with(1, stock=3)
    response = checkout(client, {**body(token), **change})
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field and response.json()["message"]
    assert not Order.objects.exists() and not CheckoutRequest.objects.exists() and levels(sku) == (3, 0)


@pytest.mark.parametrize("raw", ["[]", "null", "\"text\"", "{\"cart_token\": \"x\"", "1e999999", "{" * 5000,
                                 "[" * 100_000])
def test_a_body_that_is_not_a_checkout_object_is_a_400(client, raw):
    response = checkout(client, raw)
    assert response.status_code == 400 and response.json()["code"]
    assert not CheckoutRequest.objects.exists()


@pytest.mark.parametrize("key", ["k" * 256, "bad\nkey", "tab\tkey"])
def test_a_malformed_idempotency_key_is_a_400(client, key):
    token, _ = cart_with()
    response = checkout(client, body(token), key=key)
    assert response.status_code == 400 and response.json()["field"] == "Idempotency-Key"


# ---------------------------------------------------------------- races a reviewer found
def test_staff_cancelling_before_the_charge_is_sent_voids_it_no_money_moves(client, monkeypatch):
    real = payment_services.payment_charge

    def cancelled_first(**kwargs):
        services.order_cancel(number=kwargs["order_reference"], note="staff were quicker")
        return real(**kwargs)

    monkeypatch.setattr(payment_services, "payment_charge", cancelled_first)
    token, sku = cart_with(1, stock=3)
    response = checkout(client, body(token))
    assert response.status_code == 402 and Order.objects.get().status == "cancelled"
    assert not SandboxCharge.objects.filter(outcome="succeeded").exists() and levels(sku) == (3, 0)


def test_staff_cancelling_while_the_money_moves_leaves_no_money_with_a_cancelled_order(client, after_charge):
    token, sku = cart_with(1, stock=3, price="20.00")
    after_charge(lambda: services.order_cancel(number=Order.objects.get().number, note="staff"))
    response = checkout(client, body(token))
    assert response.status_code == 409 and response.json()["code"] == "order_cancelled"
    payment = Payment.objects.get()
    assert payment.refunded_amount == payment.amount == Decimal("20.00") and levels(sku) == (3, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_the_order_is_for_the_cart_as_submitted_even_if_another_tab_changes_it_meanwhile(client, monkeypatch):
    """The cart is read once, when the checkout comes in; the gate admits, and the order reserves and charges,
    exactly those quantities, and the gate's tokens follow the reservation."""
    from inventory import gate
    from orders import idempotency

    token, sku = cart_with(3, stock=10, price="10.00")
    inventory_services.flash_sale_start(sku=sku)
    real = idempotency.claim

    def claim_after_another_tab_changed_the_cart(**kwargs):
        cart_services.cart_set_quantity(token=token, sku=sku, quantity=1)
        return real(**kwargs)

    monkeypatch.setattr(idempotency, "claim", claim_after_another_tab_changed_the_cart)
    response = checkout(client, body(token))
    assert response.status_code == 201, response.json()
    assert [line["quantity"] for line in response.json()["lines"]] == [3] and response.json()["total"] == "30.00"
    assert Payment.objects.get().amount == Decimal("30.00")
    assert gate.tokens(sku) == 7 and levels(sku) == (7, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_a_checkout_page_post_without_a_cart_goes_back_to_the_cart(client):
    response = client.post("/checkout/", {"email": "a@example.com", "name": "A", "line1": "B", "city": "C",
                                          "postal_code": "D", "country": "GB", "card_number": "4242424242424242",
                                          "idempotency_key": "page-x"})
    assert response.status_code == 302 and response["Location"] == "/cart/"


def test_a_replay_whose_answer_fails_does_not_keep_the_key_locked(client, after_charge, monkeypatch):
    from django.db import connections

    from orders import checkout as checkout_module
    from orders import idempotency

    token, _ = cart_with(1, stock=3)
    die_after_the_charge(client, after_charge, body(token), "k-replay-fails")

    def broken(**kwargs):
        raise RuntimeError("the database hiccuped")

    monkeypatch.setattr(checkout_module, "order_confirm", broken)
    with pytest.raises(RuntimeError):
        checkout(client, body(token), key="k-replay-fails")
    claim = CheckoutRequest.objects.get(key="k-replay-fails")
    other = connections.create_connection("default")  # another worker's session
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [idempotency.LOCK_BASE + claim.pk])
            assert cursor.fetchone()[0] is True  # nobody holds the key now
    finally:
        other.close()
    monkeypatch.undo()
    assert checkout(client, body(token), key="k-replay-fails").status_code == 201


def test_an_order_number_already_taken_is_drawn_again_and_any_other_constraint_is_not_retried(client, monkeypatch):
    """Only the number's uniqueness makes the checkout draw another; another constraint failing (a fault of ours)
    surfaces as itself, with nothing reserved or charged, instead of five tries and "could not draw a number"."""
    from django.db import IntegrityError

    from orders import checkout as checkout_module

    token, sku = cart_with(1, stock=3)
    taken = checkout(client, body(token)).json()["number"]
    numbers = iter([taken, "FRSH-0001"])
    monkeypatch.setattr(checkout_module, "order_new_number", lambda: next(numbers))
    token, _ = cart_with(1, stock=3)
    response = checkout(client, body(token))
    assert response.status_code == 201 and response.json()["number"] == "FRSH-0001"

    def check_fails(*args, **kwargs):
        raise IntegrityError("new row violates check constraint") from None

    monkeypatch.setattr(checkout_module, "order_new_number", lambda: "FRSH-0002")
    monkeypatch.setattr(checkout_module, "_create_order", check_fails)
    token, sku = cart_with(1, stock=3)
    with pytest.raises(IntegrityError):
        checkout_module.checkout_place(data=checkout_module.checkout_parse(body(token)), customer=None,
                                       lines={sku: 1})
    assert not Order.objects.filter(number="FRSH-0002").exists() and SandboxCharge.objects.count() == 2
