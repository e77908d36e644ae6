"""The shopper's e-mails about an order (issue 23): from the shop's own address, HTML and text, each with the order's
secret link; the receipt, a cancellation (with the refund), partial and full refunds, shipping. Through the outbox,
into Django's mail outbox; an event delivered or announced twice sends one e-mail."""

import re
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.test import Client

from orders import services as order_services
from orders import subscribers
from orders.models import Order
from shipping import services as shipping_services
from shipping.models import TaxRate
from store.core import outbox
from tests.orders.helpers import CARD_DECLINED, body, cart_with, checkout

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


@pytest.fixture
def methods():
    shipping_services.shipping_seed_defaults()  # standard 4.95 (3–5 business days), express 14.95 (1–2)


def paid_order(client, quantity=2, price="10.00", **extra) -> str:
    token, _ = cart_with(quantity, price=price)
    answer = checkout(client, body(token, email="ada@example.com", **extra))
    assert answer.status_code == 201, answer.content
    return answer.json()["number"]


def sent() -> list:
    outbox.relay_pending()
    return list(mail.outbox)


def parts(message) -> tuple[str, str]:
    """The text and the HTML of a shopper's e-mail, after checking what every one of them must be."""
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL == \
        f"{django_settings.STORE_NAME} <{django_settings.STORE_EMAIL}>"
    assert "webmaster" not in message.from_email
    assert message.to == ["ada@example.com"]
    [(html, kind)] = message.alternatives
    assert kind == "text/html" and html.lstrip().startswith("<!doctype html>")
    return message.body, html


def opens_for_a_guest(text: str, number: str) -> None:
    link = re.search(rf"https?://[^/\s]+(/orders/{number}/\?token=\w+)", text).group(1)
    assert Client().get(link).status_code == 200
    assert Client().get(f"/orders/{number}/").status_code == 404  # without the token it is nobody's business


def test_the_receipt_shows_lines_discount_shipping_tax_and_total_from_the_shop(methods, client):
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    order_services.promo_code_create(code="SAVE10", percent=Decimal("10"))
    number = paid_order(client, quantity=2, price="40.00", shipping_method="express", promo_code="save10")
    row = Order.objects.get(number=number)
    [receipt] = sent()
    text, html = parts(receipt)
    assert number in receipt.subject and "receipt" in receipt.subject
    line = row.lines.get()
    for part in (text, html):
        assert f"2 x {line.name}" in part.replace("×", "x")
        for label, amount in (("Subtotal", "80.00"), ("Discount (SAVE10)", "8.00"), ("Shipping (Express)", "14.95"),
                              ("VAT", f"{row.tax:.2f}"), ("Total", f"{row.total:.2f}")):
            assert label in part and amount in part, (label, amount)
        assert "1 Analytical Way" in part
    assert row.total == Decimal("80.00") - Decimal("8.00") + Decimal("14.95") + row.tax
    opens_for_a_guest(text, number)
    opens_for_a_guest(html, number)


def test_a_declined_card_sends_no_email_about_an_order_the_shopper_never_saw(client):
    token, _ = cart_with()
    answer = checkout(client, body(token, card=CARD_DECLINED, email="ada@example.com"))
    assert answer.status_code == 402
    assert Order.objects.get(number=answer.json()["number"]).status == "cancelled"
    assert sent() == []


def test_a_card_declined_on_stripes_page_sends_none_either(client):
    token, _ = cart_with()
    number = checkout(client, body(token, card=CARD_DECLINED, email="ada@example.com")).json()["number"]
    subscribers.order_payment_failed({"order_reference": number, "code": "card_declined"})  # (already cancelled)
    assert sent() == []


def test_an_unpaid_order_that_expires_is_cancelled_with_a_reason_the_shopper_reads(client):
    number = paid_order(client)
    Order.objects.filter(number=number).update(status="pending_payment")
    with transaction.atomic():  # as order_cancel publishes it, for an order whose payment never came
        outbox.publish(order_services.ORDER_CANCELLED, {"number": number, "reason": "cancelled by manager7"})
    notice = sent()[-1]
    text, html = parts(notice)
    assert "was cancelled" in notice.subject
    assert "manager7" not in text + html and "we had to cancel it" in text
    assert "Nothing was charged" in text and "Nothing was charged" in html
    opens_for_a_guest(text, number)


def test_a_paid_order_cancelled_for_want_of_stock_says_the_money_went_back(client):
    number = paid_order(client, quantity=2, price="10.00")
    order_services.order_refund(number=number, key=f"refund-{number}-unfillable", notify=False)
    Order.objects.filter(number=number).update(status="cancelled")  # as _refund_unfillable leaves it
    with transaction.atomic():
        outbox.publish(order_services.ORDER_CANCELLED, {"number": number, "reason": "sold out before your payment "
                                                        "arrived; your money has been refunded in full"})
    text, html = parts(sent()[-1])
    for part in (text, html):
        assert "sold out" in part and "$20.00 you paid has been refunded" in part and "Nothing was charged" not in part


def test_staff_cancelling_a_paid_order_tell_the_shopper_the_amount_refunded(client):
    number = paid_order(client, quantity=2, price="10.00")
    order_services.order_cancel(number=number, note="cancelled by manager7")
    _receipt, notice = sent()
    text, html = parts(notice)
    assert f"order {number} was cancelled" in notice.subject
    assert "$20.00" in text and "$20.00" in html and "refunded" in text
    assert "manager7" not in text + html and "stock" not in text + html
    opens_for_a_guest(html, number)


def test_partial_then_full_refunds_each_say_their_amount_once(client):
    number = paid_order(client, quantity=2, price="10.00")
    order_services.order_refund(number=number, amount=Decimal("5.00"), key="r1", restock=False,
                                lines={Order.objects.get(number=number).lines.get().sku: 1})
    order_services.order_refund(number=number, amount=Decimal("5.00"), key="r1")  # sent again: nothing new
    order_services.order_refund(number=number, key="r2")
    _, first, second = sent()
    text, html = parts(first)
    assert first.subject.endswith(": refund") and "$5.00" in text and "$5.00" in html
    assert "restock" not in (text + html).lower() and "shelf" not in text + html
    text, html = parts(second)
    assert second.subject.endswith(": refunded") and "$15.00" in text and "is refunded" in html
    opens_for_a_guest(text, number)


def test_a_refund_event_delivered_again_sends_nothing_more(client):
    number = paid_order(client)
    order_services.order_refund(number=number, amount=Decimal("3.00"), key="once")
    assert len(sent()) == 2
    payload = {"number": number, "key": "once", "amount": "3.00", "full": False, "cancelled": False}
    with transaction.atomic():  # the same refund announced again, as a second message
        outbox.publish(order_services.ORDER_REFUNDED, payload)
    subscribers.order_send_refund(payload)  # and handed to the subscriber once more
    assert len(sent()) == 2


def test_a_refund_made_at_the_gateway_is_told_once_and_only_what_the_shop_did_not_tell(client):
    number = paid_order(client, quantity=2, price="10.00")
    order_services.order_refund(number=number, amount=Decimal("4.00"), key="ours")
    payload = {"order_reference": number, "refunded": "4.00", "amount": "20.00"}
    subscribers.order_payment_refunded(payload)  # Stripe reporting the shop's own refund: nothing new to tell
    assert len(sent()) == 2
    payload["refunded"] = "10.00"  # then 6.00 more, from Stripe's dashboard
    subscribers.order_payment_refunded(payload)
    subscribers.order_payment_refunded(payload)
    messages = sent()
    assert len(messages) == 3
    text, html = parts(messages[-1])
    assert "$6.00" in text and "$6.00" in html


def test_shipped_names_the_method_and_its_estimate(methods, client):
    number = paid_order(client, shipping_method="express")
    order_services.order_fulfil(number=number)
    notice = sent()[-1]
    text, html = parts(notice)
    assert notice.subject.endswith(f"order {number} has shipped")
    for part in (text, html):
        assert "Express" in part and "1–2 business days" in part and "1 Analytical Way" in part
    opens_for_a_guest(text, number)


def test_a_returns_refund_is_told_by_the_return_alone(client):
    number = paid_order(client)
    order_services.order_refund(number=number, amount=Decimal("2.00"), key="return-R1", notify=False)
    assert [m.subject for m in sent()] == [f"Your {django_settings.STORE_NAME} order {number}: receipt"]

