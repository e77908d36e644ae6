"""Staff racing each other over one return, and a return racing a staff refund of its order: real threads, each
with its own database connection, released together by a barrier. Units go back on the shelf once, money goes back
once, and never more than was paid."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command

from inventory.models import StockMovement
from orders import services as order_services
from orders.models import Order
from payments.gateways import TestGateway
from payments.models import Refund
from returns import services
from returns.models import Return
from returns.types import ReturnRefused, ReturnRequest
from store.core.models import OutboxMessage
from tests.concurrency import race
from tests.returns.helpers import on_hand, paid_order, refunded, returned

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def received_return(quantity=3, price="10.00", stock=5, units=None):
    number, sku, token = paid_order(quantity=quantity, stock=stock, price=price)
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: units or quantity}, reason="wrong_item"))
    services.return_approve(number=ret.number)
    return number, sku, ret.number


def test_staff_receiving_the_same_return_at_once_restock_its_units_once():
    number, sku, ret = received_return(quantity=3, stock=5)
    outcomes = race(4, lambda i: services.return_receive(number=ret, damaged={sku: 1}, by=f"staff {i}"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert on_hand(sku) == 4 and returned(number) == 3  # 2 shelved + 1 written off, once
    assert StockMovement.objects.filter(kind="return", reference=ret).count() == 1
    assert list(Return.objects.get(number=ret).events.values_list("status", flat=True)).count("received") == 1
    call_command("check_inventory")


def test_staff_refunding_the_same_return_at_once_refund_the_money_once():
    number, _sku, ret = received_return(quantity=3, price="10.00")
    services.return_receive(number=ret)
    outcomes = race(4, lambda i: services.return_refund(number=ret, by=f"staff {i}"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert {o.refund_amount for o in outcomes} == {Decimal("30.00")}
    assert refunded(number) == Decimal("30.00")
    assert Refund.objects.filter(idempotency_key=f"return-{ret}").count() == 1
    assert OutboxMessage.objects.filter(topic="return.refunded").count() == 1
    assert Order.objects.get(number=number).status == "refunded"


def test_a_return_received_while_staff_refund_the_order_with_restock_shelves_each_unit_once():
    number, sku, ret = received_return(quantity=3, stock=5, units=2)
    outcomes = race(2, lambda i: services.return_receive(number=ret) if i == 0 else
                    order_services.order_refund(number=number, restock=True, note="staff refund", key="staff"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert on_hand(sku) == 5 and returned(number) == 3  # the 3 sold came back once, whoever was first
    assert refunded(number) == Decimal("30.00")
    done = services.return_refund(number=ret)  # the order's money is all back: nothing more
    assert done.status == "refunded" and refunded(number) == Decimal("30.00")
    assert done.refund_amount in (Decimal("0.00"), Decimal("0"))
    call_command("check_inventory")


def test_a_return_refunded_while_staff_refund_the_order_never_gives_back_more_than_was_paid(monkeypatch):
    number, _sku, ret = received_return(quantity=3, price="10.00", units=2)
    services.return_receive(number=ret)
    both_claimed = threading.Barrier(2)
    real = TestGateway.refund

    def refund_once_both_have_claimed(self, **kwargs):  # both refunds count as pending before either settles
        both_claimed.wait(timeout=30)
        return real(self, **kwargs)

    monkeypatch.setattr(TestGateway, "refund", refund_once_both_have_claimed)
    outcomes = race(2, lambda i: services.return_refund(number=ret) if i == 0 else
                    order_services.order_refund(number=number, amount=Decimal("10.00"), key="staff"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert refunded(number) == Decimal("30.00")
    assert services.return_view(number=ret).refund_amount == Decimal("20.00")
    assert Order.objects.get(number=number).status == "refunded"
    assert services.return_refund(number=ret).refund_amount == Decimal("20.00")  # again: nothing more
    assert refunded(number) == Decimal("30.00")


def test_a_return_refund_is_cut_to_what_is_left_on_the_order():
    number, _sku, ret = received_return(quantity=3, price="10.00", units=2)
    services.return_receive(number=ret)
    order_services.order_refund(number=number, amount=Decimal("15.00"), key="staff")
    assert services.return_refund(number=ret).refund_amount == Decimal("15.00")  # 20 owed, 15 left
    assert refunded(number) == Decimal("30.00") and Order.objects.get(number=number).status == "refunded"


def test_two_requests_for_the_last_units_at_once_take_them_once():
    number, sku, token = paid_order(quantity=2)
    outcomes = race(4, lambda i: services.return_request(
        order_number=number, token=token, request=ReturnRequest(lines={sku: 2}, reason="other")))
    made = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(made) == 1 and all(isinstance(o, ReturnRefused) for o in outcomes if isinstance(o, Exception))
    assert Return.objects.count() == 1


def test_a_shopper_cancelling_while_staff_receive_ends_one_way_or_the_other():
    number, sku, token = paid_order(quantity=2, stock=5)
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: 2}, reason="other")).number
    services.return_approve(number=ret)
    race(2, lambda i: services.return_receive(number=ret) if i == 0 else
         services.return_cancel(number=ret, token=token))
    status = services.return_view(number=ret).status
    assert status in ("received", "cancelled")
    assert on_hand(sku) == (5 if status == "received" else 3)  # shelved only if it was received
    call_command("check_inventory")
