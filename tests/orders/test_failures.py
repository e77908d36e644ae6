"""Every failure ends consistent: a paid order with committed stock, or a cancelled one with its stock released
and no charge. The gateway below is the local test gateway; making it lose an answer is how a timeout looks."""

from datetime import timedelta

import pytest

from inventory import services as inventory_services
from inventory.models import Reservation
from orders import services, subscribers
from orders.models import Order
from payments.gateways import TestGateway
from payments.models import Payment, SandboxCharge
from store.core import outbox
from tests.orders.helpers import CARD_DECLINED, body, cart_with, checkout

pytestmark = pytest.mark.django_db


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


@pytest.fixture
def lost_answer(monkeypatch):
    """The gateway charges (or not), then the answer never arrives."""
    def install(charged: bool):
        real = TestGateway.charge

        def charge(self, **kwargs):
            if charged:
                real(self, **kwargs)
            raise TimeoutError("no answer from the gateway")

        monkeypatch.setattr(TestGateway, "charge", charge)
    return install


def test_a_lost_answer_after_a_charge_ends_paid(client, lost_answer):
    lost_answer(charged=True)
    token, sku = cart_with(1, stock=3)
    response = checkout(client, body(token))
    assert response.status_code == 202 and response.json()["status"] == "processing"
    number = response.json()["number"]
    assert Order.objects.get(number=number).status == "pending_payment" and levels(sku) == (3, 1)
    outbox.relay_pending()  # compensation asks the gateway: it did charge
    assert Order.objects.get(number=number).status == "paid"
    assert levels(sku) == (2, 0)
    assert SandboxCharge.objects.count() == 1


def test_a_lost_answer_without_a_charge_ends_cancelled(client, lost_answer):
    lost_answer(charged=False)
    token, sku = cart_with(1, stock=3)
    number = checkout(client, body(token)).json()["number"]
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "cancelled"
    assert levels(sku) == (3, 0)
    assert Payment.objects.get(order_reference=number).state == "failed"


def test_a_process_that_died_before_paying_is_swept_by_the_reservation_expiry(client, lost_answer):
    lost_answer(charged=False)
    token, sku = cart_with(1, stock=3)
    number = checkout(client, body(token)).json()["number"]
    from store.core.models import OutboxMessage

    OutboxMessage.objects.all().delete()  # as if the process died before anything followed the order
    Reservation.objects.filter(reference=number).update(expires_at=Reservation.objects.get(
        reference=number).created_at - timedelta(minutes=1))
    assert inventory_services.reservations_release_expired() == [number]
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "cancelled"
    assert levels(sku) == (3, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_money_taken_after_the_reservation_expired_is_kept_only_with_stock(client, lost_answer):
    lost_answer(charged=True)
    token, sku = cart_with(1, stock=1)
    number = checkout(client, body(token)).json()["number"]
    from store.core.models import OutboxMessage

    OutboxMessage.objects.all().delete()
    inventory_services.stock_release(reference=number, reason="expired")  # the sweep got there first...
    inventory_services.stock_receive(sku=sku, quantity=-1, reason="sold in the shop")  # ...and the unit went
    subscribers.order_settle_payment({"number": number})
    order = Order.objects.get(number=number)
    assert order.status == "cancelled"
    payment = Payment.objects.get(order_reference=number)
    assert payment.state == "refunded" and payment.refunded_amount == payment.amount  # no money without an order


def test_money_taken_after_the_reservation_expired_confirms_when_stock_remains(client, lost_answer):
    lost_answer(charged=True)
    token, sku = cart_with(1, stock=2)
    number = checkout(client, body(token)).json()["number"]
    inventory_services.stock_release(reference=number, reason="expired")
    subscribers.order_settle_payment({"number": number})
    assert Order.objects.get(number=number).status == "paid"
    assert levels(sku) == (1, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_compensation_is_idempotent(client, lost_answer):
    lost_answer(charged=True)
    token, sku = cart_with(1, stock=3)
    number = checkout(client, body(token)).json()["number"]
    for _ in range(3):
        subscribers.order_settle_payment({"number": number})
        subscribers.order_reservation_expired({"reference": number})
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)


def test_transitions_outside_the_states_are_refused(client):
    token, _ = cart_with()
    number = checkout(client, body(token)).json()["number"]
    services.order_fulfil(number=number)
    with pytest.raises(services.TransitionRefused):
        services.order_fulfil(number=number)
    assert [s for s, _ in services.order_get(number=number, is_staff=True).history] == [
        "pending_payment", "paid", "fulfilled"]
    declined, _ = cart_with()
    cancelled = checkout(client, body(declined, card=CARD_DECLINED)).json()["number"]
    with pytest.raises(services.TransitionRefused):  # a cancelled order never ships
        services.order_fulfil(number=cancelled)
    assert Order.objects.get(number=cancelled).status == "cancelled"


def test_cancel_and_refund_of_a_paid_order(client):
    token, sku = cart_with(2, stock=5, price="10.00")
    number = checkout(client, body(token)).json()["number"]
    services.order_refund(number=number, amount=__import__("decimal").Decimal("5.00"), note="scratched",
                          key="r1")
    services.order_refund(number=number, amount=__import__("decimal").Decimal("5.00"), note="scratched",
                          key="r1")  # the same refund again changes nothing
    assert Order.objects.get(number=number).status == "partially_refunded"
    assert Payment.objects.get(order_reference=number).refunded_amount == 5
    services.order_cancel(number=number, note="customer changed their mind")
    assert Order.objects.get(number=number).status == "refunded"
    assert Payment.objects.get(order_reference=number).refunded_amount == 20
    assert levels(sku) == (5, 0)  # restocked
    assert inventory_services.stock_invariant_violations() == []


def test_a_declined_card_sends_no_cancellation_email(client):
    from django.core import mail

    token, _ = cart_with()
    checkout(client, body(token, card="4000000000000002", email="late@example.com"))
    outbox.relay_pending()
    assert mail.outbox == []  # the page said the card was declined; the order's number was never the shopper's
