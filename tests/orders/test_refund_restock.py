"""A refund with restock puts back only the units staff name, never more than were sold and not yet returned: not
on a second refund, not after a partial one, not when two refunds race for the last units of a line."""

import re
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command

from inventory import services as inventory_services
from orders import services
from orders.models import Order, OrderLine
from orders.types import RestockInvalid, RestockRefused
from payments.gateways import TestGateway
from payments.models import Payment, Refund
from tests.concurrency import race
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, settings):
    """A paid order of 3 units at 10.00 (30.00), with 2 more left on the shelf: (number, sku)."""
    settings.RATE_LIMITS = {}
    token, sku = cart_with(3, stock=5, price="10.00")
    return checkout(client, body(token)).json()["number"], sku


def on_hand(sku: str) -> int:
    return inventory_services.stock_levels(sku=sku).on_hand


def returned(number: str) -> int:
    return OrderLine.objects.get(order__number=number).returned_quantity


def refunded(number: str) -> Decimal:
    return Payment.objects.get(order_reference=number).refunded_amount


def test_a_partial_refund_with_restock_puts_back_only_the_units_named(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="r1")
    assert on_hand(sku) == 3  # 2 on the shelf + the 1 named, not all 3 sold
    assert returned(number) == 1
    assert Order.objects.get(number=number).status == "partially_refunded"
    assert inventory_services.stock_invariant_violations() == []


def test_units_already_returned_are_refused_before_any_money_moves(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 2}, key="r1")
    with pytest.raises(RestockRefused) as refused:
        services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 2}, key="r2")
    assert refused.value.status == 409 and refused.value.extra == {"sku": sku, "asked": 2, "returnable": 1}
    assert not Refund.objects.filter(idempotency_key="r2").exists()  # the gateway was never asked
    assert refunded(number) == 10 and on_hand(sku) == 4 and returned(number) == 2
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="r3")
    with pytest.raises(RestockRefused):  # all 3 are back: not one more
        services.order_refund(number=number, amount=Decimal("5.00"), restock=True, lines={sku: 1}, key="r4")
    assert on_hand(sku) == 5 and returned(number) == 3 and refunded(number) == 20


@pytest.mark.parametrize("lines", [{"NO-SUCH-SKU": 1}, {"SKU": 0}, {"SKU": -1}, {"SKU": "1"}, {"SKU": 1.5},
                                   {"SKU": True}])
def test_a_sku_not_on_the_order_or_a_quantity_below_one_is_refused_before_any_money_moves(paid, lines):
    number, sku = paid
    lines = {sku if name == "SKU" else name: quantity for name, quantity in lines.items()}
    with pytest.raises(RestockInvalid) as refused:
        services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines=lines, key="r1")
    assert refused.value.status == 400 and refused.value.message
    assert not Refund.objects.exists() and on_hand(sku) == 2 and returned(number) == 0


def test_a_full_refund_with_restock_after_a_partial_one_puts_back_only_the_rest(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="r1")
    services.order_refund(number=number, restock=True, note="the rest", key="r2")
    assert on_hand(sku) == 5 and returned(number) == 3  # 2 + 1 + the 2 not yet returned
    assert Order.objects.get(number=number).status == "refunded" and refunded(number) == 30
    services.order_cancel(number=number, note="too late")  # already refunded: nothing changes
    assert on_hand(sku) == 5
    assert inventory_services.stock_invariant_violations() == []


def test_restock_of_everything_returns_each_unit_once_across_refunds(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, key="r1")
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, key="r2")
    services.order_cancel(number=number, note="cancelled by staff")
    assert on_hand(sku) == 5 and returned(number) == 3  # never 8 or 11: the 3 sold come back once
    assert inventory_services.stock_invariant_violations() == []


def test_the_same_refund_sent_again_restocks_once(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="r1")
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="r1")
    assert on_hand(sku) == 3 and returned(number) == 1 and refunded(number) == 10


def test_cancelling_a_paid_order_after_a_partial_restock_puts_back_only_the_rest(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 2}, key="r1")
    services.order_cancel(number=number, note="customer changed their mind")
    assert on_hand(sku) == 5 and returned(number) == 3 and refunded(number) == 30


# ---------------------------------------------------------------- races
@pytest.mark.django_db(transaction=True)
def test_refunds_racing_for_the_last_units_of_a_line_restock_them_once(paid):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="first")
    outcomes = race(6, lambda i: services.order_refund(number=number, amount=Decimal("1.00"), restock=True,
                                                       lines={sku: 1}, key=f"race-{i}"))
    assert all(isinstance(o, RestockRefused) for o in outcomes if isinstance(o, Exception)), outcomes
    assert on_hand(sku) == 5 and returned(number) == 3  # the 2 units left came back once, whoever won
    assert inventory_services.stock_invariant_violations() == []
    call_command("check_inventory")  # raises CommandError on any violation


@pytest.mark.django_db(transaction=True)
def test_units_taken_by_a_concurrent_refund_while_the_money_moved_are_not_restocked_twice(paid, monkeypatch):
    number, sku = paid
    services.order_refund(number=number, amount=Decimal("10.00"), restock=True, lines={sku: 1}, key="first")
    both_checked = threading.Barrier(2)
    real = TestGateway.refund

    def refund_once_both_have_checked(self, **kwargs):
        both_checked.wait(timeout=30)  # both refunds saw 2 units left before either records its restock
        return real(self, **kwargs)

    monkeypatch.setattr(TestGateway, "refund", refund_once_both_have_checked)
    outcomes = race(2, lambda i: services.order_refund(number=number, amount=Decimal("5.00"), restock=True,
                                                       lines={sku: 2}, note=f"staff {i}", key=f"race-{i}"))
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    assert refunded(number) == 20  # both refunds' money went back: it had moved before the units were counted
    assert on_hand(sku) == 5 and returned(number) == 3  # but the 2 units went back on the shelf once
    notes = list(Order.objects.get(number=number).events.values_list("note", flat=True))
    assert len([n for n in notes if "not put back" in n and f"{sku} x2" in n]) == 1, notes
    assert inventory_services.stock_invariant_violations() == []
    call_command("check_inventory")


# ---------------------------------------------------------------- the staff page
def refund_page(manager_client, number: str):
    order = Order.objects.get(number=number)
    url = f"/admin/orders/order/{order.pk}/refund/"
    page = manager_client.get(url).content.decode()
    key = re.search(r'name="key" value="([^"]*)"', page).group(1)
    return url, key, f"restock_{order.lines.get().pk}", page


def test_staff_put_back_the_units_they_name_on_the_refund_page(paid, manager_client):
    number, sku = paid
    url, key, field, page = refund_page(manager_client, number)
    assert f'name="{field}"' in page and 'max="3"' in page
    response = manager_client.post(url, {"amount": "10.00", "reason": "one scuffed", "key": key, field: "1"})
    assert response.status_code == 302
    assert on_hand(sku) == 3 and returned(number) == 1
    url, key, field, page = refund_page(manager_client, number)
    assert '<td class="sold">3</td>' in page and '<td class="returned">1</td>' in page and 'max="2"' in page
    response = manager_client.post(url, {"reason": "no units back", "amount": "1.00", "key": key})
    assert response.status_code == 302 and on_hand(sku) == 3  # no number (or 0) puts nothing back


@pytest.mark.parametrize("units", ["3", "-1", "abc", "1.5", "9" * 40])
def test_a_bad_number_of_units_is_a_form_error(paid, manager_client, units):
    number, sku = paid
    url, key, field, _ = refund_page(manager_client, number)
    manager_client.post(url, {"amount": "10.00", "reason": "one scuffed", "key": key, field: "1"})
    url, key, field, _ = refund_page(manager_client, number)
    response = manager_client.post(url, {"amount": "10.00", "reason": "too many", "key": key, field: units})
    assert response.status_code == 200 and b"errorlist" in response.content
    assert on_hand(sku) == 3 and returned(number) == 1 and refunded(number) == 10


def test_a_refusal_from_the_service_is_a_form_error(paid, manager_client):
    number, sku = paid
    url, key, field, _ = refund_page(manager_client, number)
    # Another refund takes 25.00 of the 30.00 after this form was read, before it is sent: the service refuses.
    services.order_refund(number=number, amount=Decimal("25.00"), key="elsewhere")
    response = manager_client.post(url, {"amount": "10.00", "reason": "late", "key": key, field: "1"})
    assert response.status_code == 200 and b"more than the 5.00 left" in response.content
    assert refunded(number) == 25 and on_hand(sku) == 2 and returned(number) == 0  # the late form moved nothing


def test_a_late_form_naming_units_no_longer_there_is_refused_not_refunded_without_them(paid, manager_client):
    number, sku = paid
    url, key, field, _ = refund_page(manager_client, number)  # read while 3 units could go back
    services.order_refund(number=number, amount=Decimal("5.00"), restock=True, lines={sku: 3}, key="elsewhere")
    response = manager_client.post(url, {"amount": "10.00", "reason": "late", "key": key, field: "1"})
    assert response.status_code == 200
    assert f"Only 0 units of {sku} can still go back" in response.content.decode()
    assert refunded(number) == 5  # no money for a refund whose units could not come back


class _ProcessDied(BaseException):
    """Nothing after this point runs, as after a SIGKILL."""


def test_a_refund_whose_process_died_after_the_money_moved_is_finished_by_sending_it_again(client, monkeypatch):
    from orders.models import OrderRefund
    from payments import services as payment_services

    token, sku = cart_with(3, stock=5, price="10.00")
    number = checkout(client, body(token)).json()["number"]
    real = payment_services.payment_refund

    def refund_then_die(**kwargs):
        real(**kwargs)
        raise _ProcessDied

    monkeypatch.setattr(payment_services, "payment_refund", refund_then_die)
    with pytest.raises(_ProcessDied):
        services.order_refund(number=number, amount=Decimal("10.00"), lines={sku: 1}, key="r-died")
    monkeypatch.undo()
    assert inventory_services.stock_levels(sku=sku).on_hand == 2  # money back, unit not yet on the shelf
    for _ in range(2):  # sent again (staff double-submit too): finished once
        services.order_refund(number=number, amount=Decimal("10.00"), lines={sku: 1}, key="r-died")
    assert inventory_services.stock_levels(sku=sku).on_hand == 3
    assert OrderRefund.objects.get(key="r-died").restocked == {sku: 1}
    assert Payment.objects.get(order_reference=number).refunded_amount == Decimal("10.00")
    assert Order.objects.get(number=number).status == "partially_refunded"
    assert inventory_services.stock_invariant_violations() == []


def test_a_staff_refund_the_provider_made_unanswered_is_finished_though_a_webhook_marked_the_order_refunded(
        paid, monkeypatch):
    """The provider makes staff's refund but the answer is lost (the refund stays pending); its webhook then
    reports the order's money all given back, so the order is refunded. Sending the refund again finishes it with
    its key: the units named go back, the refund is recorded, the provider refunds once — instead of refusing it
    because the order is no longer paid, which left the refund pending and the units off the shelf for ever."""
    from payments.models import SandboxRefund
    from payments.types import RefundPending

    number, sku = paid
    real = TestGateway.refund

    def made_but_unanswered(self, **kwargs):
        real(self, **kwargs)
        raise ConnectionError("the answer was lost")

    monkeypatch.setattr(TestGateway, "refund", made_but_unanswered)
    with pytest.raises(RefundPending):
        services.order_refund(number=number, lines={sku: 3}, key="lost")
    monkeypatch.setattr(TestGateway, "refund", real)
    # Stripe's charge.refunded webhook: the gateway's total, and the order marked refunded in full
    Payment.objects.filter(order_reference=number).update(refunded_amount=Decimal("30.00"), state="refunded")
    services.order_mark_refunded(number=number, full=True, note="refunded 30.00 at the gateway")

    services.order_refund(number=number, lines={sku: 3}, key="lost")
    assert Refund.objects.get(idempotency_key="lost").state == "succeeded"
    assert SandboxRefund.objects.filter(idempotency_key="lost").count() == 1
    assert on_hand(sku) == 5 and returned(number) == 3 and Order.objects.get(number=number).status == "refunded"
