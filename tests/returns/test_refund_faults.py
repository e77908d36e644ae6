"""Faults on the way the money of a return goes back: the provider refusing it once, the process dying between the
provider's refund and the return's record of it. The return is never stuck, and its money goes back exactly once."""

from decimal import Decimal

import pytest
import stripe

from orders import services as order_services
from orders.models import Order
from payments import services as payment_services
from payments.gateways import TestGateway
from payments.models import Payment, Refund, SandboxRefund
from payments.types import RefundPending, RefundRefused
from returns import services
from returns.types import ReturnRequest
from store.core import outbox
from tests.concurrency import race
from tests.returns.helpers import paid_order, refunded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def received_return(quantity=3, units=2):
    number, sku, token = paid_order(quantity=quantity, price="10.00")
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: units}, reason="wrong_item")).number
    services.return_approve(number=ret)
    services.return_receive(number=ret)
    return number, ret


def refuse_first(monkeypatch, times=1):
    real, calls = TestGateway.refund, []

    def refund(self, **kwargs):
        calls.append(kwargs["idempotency_key"])
        if len(calls) <= times:
            raise stripe.InvalidRequestError("This refund cannot be made now.", "amount")
        return real(self, **kwargs)

    monkeypatch.setattr(TestGateway, "refund", refund)
    return calls


def test_a_refund_the_provider_refused_can_be_sent_again_and_refunds_once(monkeypatch):
    number, ret = received_return()
    calls = refuse_first(monkeypatch)
    with pytest.raises(RefundRefused):
        services.return_refund(number=ret)
    assert services.return_view(number=ret).status == "received" and refunded(number) == 0
    done = services.return_refund(number=ret)  # was: "refused this refund" for ever, the return stuck in received
    assert done.status == "refunded" and done.refund_amount == Decimal("20.00")
    assert refunded(number) == Decimal("20.00")
    assert services.return_refund(number=ret).refund_amount == Decimal("20.00") and refunded(number) == 20
    assert len(calls) == 2 and calls[0] == f"return-{ret}" and calls[1] != calls[0]
    assert sorted(Refund.objects.values_list("state", flat=True)) == ["failed", "succeeded"]


def test_staff_pressing_refund_at_once_after_a_refusal_refund_once(monkeypatch):
    number, ret = received_return()
    refuse_first(monkeypatch)
    with pytest.raises(RefundRefused):
        services.return_refund(number=ret)
    outcomes = race(4, lambda i: services.return_refund(number=ret, by=f"staff {i}"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert {o.refund_amount for o in outcomes} == {Decimal("20.00")}
    assert refunded(number) == Decimal("20.00")
    assert Refund.objects.filter(state="succeeded").count() == 1


def test_a_process_dying_after_the_money_moved_is_finished_by_the_next_press(monkeypatch):
    number, ret = received_return()
    real, died = outbox.publish, []

    def die_once(topic, payload, *args, **kwargs):
        if topic == "return.refunded" and not died:
            died.append(topic)
            raise SystemExit("the process died")
        return real(topic, payload, *args, **kwargs)

    monkeypatch.setattr(outbox, "publish", die_once)
    with pytest.raises(SystemExit):
        services.return_refund(number=ret)
    assert services.return_view(number=ret).status == "received" and refunded(number) == Decimal("20.00")
    done = services.return_refund(number=ret)
    assert done.status == "refunded" and done.refund_amount == Decimal("20.00") and refunded(number) == 20
    assert Refund.objects.count() == 1


def test_a_refund_the_provider_made_unanswered_is_recorded_though_a_webhook_marked_the_order_refunded(monkeypatch):
    """The provider makes the return's refund but the answer is lost (the refund stays pending); its webhook then
    reports the order's money all given back, so the order is refunded. Sending the return's refund again records
    the money it gave back (it recorded 0.00, e-mailed the shopper "refunded 0.00", and left the refund pending for
    ever), and the provider is not asked to refund twice."""
    number, sku, token = paid_order(quantity=3, price="10.00")
    paid = Payment.objects.get(order_reference=number).amount
    order_services.order_refund(number=number, amount=paid - Decimal("20.00"), key="staff")  # all but 2 units'
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: 2}, reason="wrong_item")).number
    services.return_approve(number=ret)
    services.return_receive(number=ret)
    real = TestGateway.refund

    def made_but_unanswered(self, **kwargs):
        real(self, **kwargs)
        raise ConnectionError("the answer was lost")

    monkeypatch.setattr(TestGateway, "refund", made_but_unanswered)
    with pytest.raises(RefundPending):
        services.return_refund(number=ret)
    monkeypatch.setattr(TestGateway, "refund", real)
    # Stripe's charge.refunded webhook: the gateway's total, and the order marked refunded in full
    Payment.objects.filter(order_reference=number).update(refunded_amount=paid, state="refunded")
    order_services.order_mark_refunded(number=number, full=True, note=f"refunded {paid} at the gateway")

    done = services.return_refund(number=ret)
    assert done.status == "refunded" and done.refund_amount == Decimal("20.00")
    assert Refund.objects.get(idempotency_key=f"return-{ret}").state == "succeeded"
    assert SandboxRefund.objects.filter(idempotency_key=f"return-{ret}").count() == 1
    assert refunded(number) == paid and Order.objects.get(number=number).status == "refunded"


def test_a_process_dying_after_the_provider_refunded_but_before_payments_recorded_it(monkeypatch):
    """The provider made the refund; the process died before the refund was settled (it stays pending). The next
    press sends it again with the same key: the provider refunds once, the return records it once."""
    number, ret = received_return()
    real, died = payment_services._refund_settle, []

    def die_once(*args, **kwargs):
        if not died:
            died.append(1)
            raise SystemExit("the process died")
        return real(*args, **kwargs)

    monkeypatch.setattr(payment_services, "_refund_settle", die_once)
    with pytest.raises(SystemExit):
        services.return_refund(number=ret)
    assert Refund.objects.get().state == "pending" and services.return_view(number=ret).status == "received"
    done = services.return_refund(number=ret)
    assert done.status == "refunded" and done.refund_amount == Decimal("20.00") and refunded(number) == 20
    assert SandboxRefund.objects.filter(idempotency_key=f"return-{ret}").count() == 1
    assert Order.objects.get(number=number).status == "partially_refunded"
