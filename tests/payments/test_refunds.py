"""Refunds: the payment provider is asked outside any lock or transaction; a refund is pending until it answers,
counts against what is left meanwhile, is finished by a retry with its key and made once, and never counted twice
when a Stripe webhook reports the money first."""

from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from orders import services as order_services
from orders.models import Order
from payments import services
from payments.gateways import TestGateway
from payments.models import Payment, Refund, SandboxCharge
from payments.types import RefundPending, RefundRefused
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, settings):
    settings.RATE_LIMITS = {}
    token, _ = cart_with(2, stock=5, price="10.00")
    return checkout(client, body(token)).json()["number"]  # 20.00 paid


@pytest.mark.django_db(transaction=True)
def test_the_gateway_is_asked_outside_any_transaction(paid, monkeypatch):
    seen = []
    original = TestGateway.refund

    def refund(self, **kwargs):
        seen.append(connection.in_atomic_block)
        with psycopg.connect(_dsn(), autocommit=False) as other:  # another session could lock both rows now
            other.execute("SELECT 1 FROM payments.payments_payment WHERE order_reference = %s FOR UPDATE NOWAIT",
                          [paid])
            other.execute("SELECT 1 FROM orders.orders_order WHERE number = %s FOR UPDATE NOWAIT", [paid])
        return original(self, **kwargs)

    monkeypatch.setattr(TestGateway, "refund", refund)
    order_services.order_refund(number=paid, amount=Decimal("5.00"), key="r1")
    assert seen == [False]  # no transaction, so no row lock, held while the provider is asked


def _dsn() -> str:
    params = connection.get_connection_params()
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if k in (
        "dbname", "user", "password", "host", "port")})


def test_no_answer_leaves_it_pending_and_a_retry_finishes_it_once(paid, monkeypatch):
    original = TestGateway.refund

    def lost_answer(self, **kwargs):
        original(self, **kwargs)  # the provider refunded...
        raise ConnectionError("...but its answer never arrived")

    monkeypatch.setattr(TestGateway, "refund", lost_answer)
    with pytest.raises(RefundPending):
        order_services.order_refund(number=paid, amount=Decimal("5.00"), key="r1")
    assert Refund.objects.get(idempotency_key="r1").state == "pending"
    assert Order.objects.get(number=paid).status == "paid"
    with pytest.raises(RefundRefused) as taken:  # the pending 5.00 already counts against the 20.00
        services.payment_refund(order_reference=paid, amount=Decimal("16.00"), idempotency_key="r2")
    assert taken.value.extra["refundable"] == "15.00"
    monkeypatch.setattr(TestGateway, "refund", original)
    order_services.order_refund(number=paid, amount=Decimal("5.00"), key="r1")  # staff send it again
    assert Refund.objects.get(idempotency_key="r1").state == "succeeded"
    assert Payment.objects.get(order_reference=paid).refunded_amount == 5
    assert SandboxCharge.objects.get().refunded == 5  # made once at the provider
    assert Order.objects.get(number=paid).status == "partially_refunded"


def test_a_refusal_is_final_for_its_key(paid, monkeypatch):
    import stripe

    def refuse(self, **kwargs):
        raise stripe.InvalidRequestError("Charge has been disputed", param=None)

    monkeypatch.setattr(TestGateway, "refund", refuse)
    with pytest.raises(RefundRefused):
        order_services.order_refund(number=paid, amount=Decimal("5.00"), key="r1")
    assert Refund.objects.get(idempotency_key="r1").state == "failed"
    with pytest.raises(RefundRefused):
        services.payment_refund(order_reference=paid, amount=Decimal("5.00"), idempotency_key="r1")
    monkeypatch.undo()
    assert services.payment_refund(order_reference=paid, amount=None, idempotency_key="r2") == 20  # nothing held


def test_a_webhook_that_reported_the_money_first_is_not_counted_twice(paid, monkeypatch):
    original = TestGateway.refund

    def with_early_webhook(self, **kwargs):
        reference = original(self, **kwargs)
        Payment.objects.filter(order_reference=paid).update(refunded_amount=Decimal("5.00"))  # Stripe's total
        return reference

    monkeypatch.setattr(TestGateway, "refund", with_early_webhook)
    order_services.order_refund(number=paid, amount=Decimal("5.00"), key="r1")
    assert Payment.objects.get(order_reference=paid).refunded_amount == 5


@pytest.mark.django_db(transaction=True)
def test_racing_refunds_never_give_back_more_than_was_paid(paid):
    from tests.concurrency import race

    outcomes = race(6, lambda i: services.payment_refund(order_reference=paid, amount=Decimal("8.00"),
                                                         idempotency_key=f"race-{i}"))
    refunded = [o for o in outcomes if isinstance(o, Decimal)]
    assert len(refunded) == 2 and all(isinstance(o, RefundRefused) for o in outcomes if o not in refunded)
    payment = Payment.objects.get(order_reference=paid)
    assert payment.refunded_amount == 16 and SandboxCharge.objects.get().refunded == 16  # of the 20.00 paid
