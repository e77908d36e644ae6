"""Returns through their services: the flow, each step idempotent, stock and money following the parcel, and every
refusal leaving nothing changed."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from inventory.models import StockMovement
from orders import services as order_services
from orders.models import Order, OrderEvent
from orders.types import OrderNotFound
from returns import services
from returns.models import Return
from returns.types import InvalidReturn, ReturnRefused, ReturnRequest, ReturnStepRefused
from store.core import outbox
from store.core.models import OutboxMessage
from tests.orders.helpers import CARD_DECLINED, body, cart_with, checkout
from tests.returns.helpers import on_hand, paid_order, refunded, returned

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def ask(number, token, lines, reason="changed_mind", note=""):
    return services.return_request(order_number=number, token=token,
                                   request=ReturnRequest(lines=lines, reason=reason, note=note))


def deliver_outbox():
    for message_id in outbox.pending_ids():
        outbox.deliver(message_id)


def test_a_return_goes_from_request_to_refund_and_stock_and_money_follow_the_parcel():
    number, sku, token = paid_order(quantity=3, stock=5, price="10.00")
    ret = ask(number, token, {sku: 2}, reason="damaged", note="one was scratched")
    assert ret.number.startswith("R-") and ret.status == "requested" and ret.refund_amount is None
    assert on_hand(sku) == 2 and refunded(number) == 0  # nothing moves on a request

    assert services.return_approve(number=ret.number, by="staff").status == "approved"
    received = services.return_receive(number=ret.number, damaged={sku: 1})
    assert received.status == "received" and received.lines[0].received == 2 and received.lines[0].restocked == 1
    assert on_hand(sku) == 3 and returned(number) == 2  # the damaged unit is written off, not shelved
    movement = StockMovement.objects.get(kind="return", reference=ret.number)
    assert movement.sku == sku and movement.on_hand_delta == 1

    done = services.return_refund(number=ret.number)
    assert done.status == "refunded" and done.refund_amount == Decimal("20.00")  # both received units
    assert refunded(number) == Decimal("20.00")
    assert Order.objects.get(number=number).status == "partially_refunded"
    assert [status for status, _, _ in done.history] == ["requested", "approved", "received", "refunded"]
    call_command("check_inventory")


def test_each_step_pressed_again_changes_nothing_more():
    number, sku, token = paid_order(quantity=2, price="15.00")
    ret = ask(number, token, {sku: 2})
    for _ in range(2):
        services.return_approve(number=ret.number)
    for _ in range(2):
        services.return_receive(number=ret.number)
    for _ in range(2):
        assert services.return_refund(number=ret.number).refund_amount == Decimal("30.00")
    assert services.return_approve(number=ret.number).status == "refunded"  # moved on: approving changes nothing
    assert services.return_receive(number=ret.number).status == "refunded"
    assert on_hand(sku) == 5 and refunded(number) == Decimal("30.00")
    assert StockMovement.objects.filter(kind="return", reference=ret.number).count() == 1
    assert Order.objects.get(number=number).status == "refunded"
    assert OutboxMessage.objects.filter(topic="return.refunded").count() == 1


def test_the_shopper_gets_an_email_at_each_step_with_the_refund_amount_at_the_end():
    number, sku, token = paid_order(quantity=1, price="12.50")
    ret = ask(number, token, {sku: 1})
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    services.return_refund(number=ret.number)
    deliver_outbox()
    ours = [m for m in mail.outbox if ret.number in m.subject]
    assert len(ours) == 3  # requested, approved, refunded
    assert "send it back" in ours[0].body or ret.number in ours[0].body
    assert "12.50" in ours[-1].body and ours[-1].to == ["shopper@example.com"]
    assert f"/orders/{number}/?token=" in ours[-1].body


def test_each_return_email_is_text_and_html_from_the_shop_with_the_order_link_and_no_refund_email_twice():
    from django.conf import settings as django_settings

    number, sku, token = paid_order(quantity=1, price="12.50")
    ret = ask(number, token, {sku: 1})
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    services.return_refund(number=ret.number)
    deliver_outbox()
    ours = [m for m in mail.outbox if ret.number in m.subject]
    assert len(ours) == 3
    for message in ours:
        [(html, kind)] = message.alternatives
        assert kind == "text/html" and message.from_email == django_settings.DEFAULT_FROM_EMAIL
        assert f'href="{django_settings.STORE_URL}/orders/{number}/?token=' in html
    assert "12.50" in ours[-1].alternatives[0][0]
    other, sku2, token2 = paid_order(quantity=1)
    services.return_reject(number=ask(other, token2, {sku2: 1}).number, reason="<b>worn</b> outdoors")
    deliver_outbox()
    html = next(m for m in mail.outbox if "could not be accepted" in m.subject).alternatives[0][0]
    assert "&lt;b&gt;worn&lt;/b&gt; outdoors" in html and "<b>worn" not in html  # the staff's words, escaped
    # the order's own refund e-mail is not sent for a return's refund: the return's says the amount
    assert not [m for m in mail.outbox if m.subject.endswith((": refund", ": refunded"))]


def test_a_rejected_return_tells_the_shopper_why_and_frees_the_units():
    number, sku, token = paid_order(quantity=2)
    ret = ask(number, token, {sku: 2})
    with pytest.raises(InvalidReturn):
        services.return_reject(number=ret.number, reason="  ")
    rejected = services.return_reject(number=ret.number, reason="worn outdoors")
    assert rejected.status == "rejected" and rejected.staff_note == "worn outdoors"
    deliver_outbox()
    assert any("worn outdoors" in m.body for m in mail.outbox)
    with pytest.raises(ReturnStepRefused):
        services.return_approve(number=ret.number)
    assert ask(number, token, {sku: 2}).status == "requested"  # the units may be asked for again


def test_the_restocking_fee_of_the_reason_comes_off_the_refund(settings):
    settings.RETURN_RESTOCKING_FEES = {"changed_mind": Decimal("10")}
    number, sku, token = paid_order(quantity=2, price="10.00")
    ret = ask(number, token, {sku: 2}, reason="changed_mind")
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    done = services.return_refund(number=ret.number)
    assert done.refund_amount == Decimal("18.00") and done.fee == Decimal("2.00") and refunded(number) == 18


def test_units_never_received_are_not_refunded_and_may_be_asked_for_again():
    number, sku, token = paid_order(quantity=3, price="10.00")
    ret = ask(number, token, {sku: 3})
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number, received={sku: 1})
    assert services.return_refund(number=ret.number).refund_amount == Decimal("10.00")
    assert on_hand(sku) == 3 and returned(number) == 1
    assert services.return_options(order_number=number, token=token).lines[0].left == 2


def test_a_shopper_cannot_ask_for_units_already_on_an_open_return_until_it_is_cancelled():
    number, sku, token = paid_order(quantity=3)
    first = ask(number, token, {sku: 2})
    with pytest.raises(ReturnRefused) as refused:
        ask(number, token, {sku: 2})
    assert refused.value.extra["returnable"] == 1 and Return.objects.count() == 1
    services.return_cancel(number=first.number, token=token)
    assert ask(number, token, {sku: 3}).status == "requested"


def test_a_return_cannot_be_cancelled_once_the_parcel_arrived():
    number, sku, token = paid_order(quantity=1)
    ret = ask(number, token, {sku: 1})
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    with pytest.raises(ReturnStepRefused):
        services.return_cancel(number=ret.number, token=token)


def test_steps_out_of_order_are_refused_and_change_nothing():
    number, sku, token = paid_order(quantity=1)
    ret = ask(number, token, {sku: 1})
    with pytest.raises(ReturnStepRefused, match="approve it first"):
        services.return_receive(number=ret.number)
    with pytest.raises(ReturnStepRefused):
        services.return_refund(number=ret.number)
    assert on_hand(sku) == 4 and refunded(number) == 0 and services.return_view(number=ret.number).status == "requested"


# ---------------------------------------------------------------- refusals: nothing stored
def nothing_changed(number, sku, shelf):
    assert Return.objects.count() == 0 and on_hand(sku) == shelf and returned(number) == 0


def test_more_than_was_bought_is_refused():
    number, sku, token = paid_order(quantity=2)
    with pytest.raises(ReturnRefused, match="Only 2"):
        ask(number, token, {sku: 3})
    nothing_changed(number, sku, 3)


def test_a_sku_not_on_the_order_is_refused_naming_the_field():
    number, sku, token = paid_order(quantity=2)
    with pytest.raises(InvalidReturn) as refused:
        ask(number, token, {"NOT-ON-IT": 1})
    assert refused.value.extra["field"] == "lines[0].sku"
    nothing_changed(number, sku, 3)


def test_another_shoppers_order_is_not_found(django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-for-tests-only")
    stranger = django_user_model.objects.create_user("stranger", password="pw-for-tests-only")
    number, sku, _ = paid_order(quantity=1, user=owner)
    for user_id, token in ((stranger.pk, ""), (None, "not-the-token"), (None, "")):
        with pytest.raises(OrderNotFound):
            services.return_request(order_number=number, user_id=user_id, token=token,
                                    request=ReturnRequest(lines={sku: 1}, reason="other"))
    nothing_changed(number, sku, 4)
    assert services.return_request(order_number=number, user_id=owner.pk,
                                   request=ReturnRequest(lines={sku: 1}, reason="other")).status == "requested"


def test_after_the_window_the_return_is_refused_saying_when_it_closed(settings):
    number, sku, token = paid_order(quantity=1)
    OrderEvent.objects.filter(order__number=number).update(at=timezone.now() - timedelta(days=31))
    with pytest.raises(ReturnRefused, match="30-day return window"):
        ask(number, token, {sku: 1})
    nothing_changed(number, sku, 4)


def test_the_window_runs_from_shipping_once_the_order_is_shipped():
    number, sku, token = paid_order(quantity=1)
    OrderEvent.objects.filter(order__number=number).update(at=timezone.now() - timedelta(days=31))
    order_services.order_fulfil(number=number)  # shipped today: 30 days from now
    assert ask(number, token, {sku: 1}).status == "requested"


def test_a_cancelled_order_cannot_be_returned():
    token, sku = cart_with(1, stock=5)
    response = checkout(Client(), body(token, card=CARD_DECLINED))
    assert response.status_code == 402
    number = response.json()["number"]
    access = order_services.order_access_token(number)
    with pytest.raises(ReturnRefused, match="cancelled"):
        ask(number, access, {sku: 1})
    nothing_changed(number, sku, 5)


@pytest.mark.parametrize(("data", "field"), [
    ({"lines": [{"sku": "S", "quantity": 0}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "S", "quantity": -1}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "S", "quantity": 1.5}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "S", "quantity": "1"}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "S", "quantity": True}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "S", "quantity": 10 ** 9}], "reason": "other"}, "lines[0].quantity"),
    ({"lines": [{"sku": "", "quantity": 1}], "reason": "other"}, "lines[0].sku"),
    ({"lines": [{"quantity": 1}], "reason": "other"}, "lines[0].sku"),
    ({"lines": [], "reason": "other"}, "lines"),
    ({"lines": "S", "reason": "other"}, "lines"),
    ({"lines": [{"sku": "S", "quantity": 1}], "reason": "bored"}, "reason"),
    ({"lines": [{"sku": "S", "quantity": 1}]}, "reason"),
    ({"lines": [{"sku": "S", "quantity": 1}], "reason": "other", "note": "x" * 1001}, "note"),
    ({"lines": [{"sku": "S", "quantity": 1}], "reason": "other", "note": 5}, "note"),
    ([], "lines"),
])
def test_bad_input_is_refused_naming_the_field(data, field):
    with pytest.raises(InvalidReturn) as refused:
        services.return_parse(data)
    assert refused.value.extra["field"] == field and refused.value.status == 400


def test_damaged_units_beyond_those_received_are_refused():
    number, sku, token = paid_order(quantity=2)
    ret = ask(number, token, {sku: 2})
    services.return_approve(number=ret.number)
    with pytest.raises(InvalidReturn):
        services.return_receive(number=ret.number, damaged={sku: 3})
    with pytest.raises(InvalidReturn):
        services.return_receive(number=ret.number, damaged={"OTHER": 1})
    assert services.return_view(number=ret.number).status == "approved" and on_hand(sku) == 3


def test_a_return_paid_with_stripe_is_refunded_at_stripe_once_with_the_returns_own_key(client, stripe_api):
    token, sku = cart_with(2, stock=5, price="30.00")
    placed = checkout(client, body(token, payment={"method": "stripe", "payment_method": "pm_card_visa"}))
    assert placed.status_code == 201, placed.content
    number, access = placed.json()["number"], placed.json()["access_token"]
    ret = ask(number, access, {sku: 1}, reason="not_as_described")
    services.return_approve(number=ret.number)
    services.return_receive(number=ret.number)
    for _ in range(2):
        assert services.return_refund(number=ret.number).refund_amount == Decimal("30.00")
    sent = [r for r in stripe_api.requests if r["path"] == "/v1/refunds"]
    assert len(sent) == 1 and sent[0]["params"]["amount"] == "3000"
    assert sent[0]["headers"]["Idempotency-Key"] == f"return-{ret.number}"
    assert Order.objects.get(number=number).status == "partially_refunded"
