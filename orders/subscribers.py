"""What the orders side does when other apps' events arrive through the outbox: compensation (an expired
reservation, a payment with no answer, Stripe's webhooks) and the e-mails. Registered in OrdersConfig.ready;
every subscriber is idempotent, because the outbox delivers at least once."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import Sum
from django.template.loader import render_to_string

from cart import services as cart_services
from payments import services as payment_services
from shipping import services as shipping_services

from .models import Order, OrderEmail
from .services import (
    Status,
    order_access_token,
    order_cancel,
    order_confirm,
    order_get,
    order_mark_refunded,
)


def order_reservation_expired(payload: dict) -> None:
    """Subscriber of ``reservation.expired``: the order was not paid in time (or its process died). The payment
    is settled with the gateway, and voided there if still open (a Stripe page the shopper abandoned can then no
    longer be paid): paid → confirm (re-reserving or refunding, see order_confirm); not paid → cancel."""
    _settle(payload.get("reference", ""), abandon=True)


def order_settle_payment(payload: dict) -> None:
    """Subscriber of ``order.payment_unknown``: ask the gateway what became of a charge that got no answer (one
    still deciding, such as 3-D Secure, is left to decide until the reservation expires)."""
    _settle(payload["number"], abandon=False)


def _settle(number: str, *, abandon: bool) -> None:
    order = Order.objects.filter(number=number).first()
    if order is None or order.status != Status.PENDING_PAYMENT:
        return
    charge = payment_services.payment_settle(order_reference=number, abandon=abandon)
    if charge is not None and charge.outcome in ("unknown", "redirect"):
        if not abandon and charge.outcome == "redirect":
            return  # the shopper is on the payment page: the webhook, their return or the expiry decides
        raise RuntimeError(f"the gateway has no answer yet for {number}")  # the outbox retries with backoff
    if charge is not None and charge.succeeded:
        order_confirm(number=number, note="payment confirmed by the gateway")
    else:
        order_cancel(number=number, note="not paid in time")


def order_payment_succeeded(payload: dict) -> None:
    """Subscriber of ``payment.succeeded`` (Stripe's webhook): confirm, whichever of it, the checkout and the
    shopper's return is first (order_confirm gives back money that arrives for an order already cancelled)."""
    if Order.objects.filter(number=payload["order_reference"]).exists():
        order_confirm(number=payload["order_reference"], note="payment confirmed by Stripe")


def order_clear_cart(payload: dict) -> None:
    """Subscriber of ``order.cart_clear``: empty a paid order's cart that Redis could not empty at the time."""
    cart_services.cart_clear(token=payload["token"])


def order_payment_failed(payload: dict) -> None:
    """Subscriber of ``payment.failed`` (Stripe's webhook): a declined card cancels the unpaid order, without an
    e-mail (the shopper saw the decline on the payment page)."""
    if Order.objects.filter(number=payload["order_reference"], status=Status.PENDING_PAYMENT).exists():
        order_cancel(number=payload["order_reference"], note=f"payment failed: {payload.get('code', '')}",
                     notify=False)


def order_payment_refunded(payload: dict) -> None:
    """Subscriber of ``payment.refunded``: a refund made at the gateway (e.g. Stripe's dashboard) shows here."""
    number, refunded = payload["order_reference"], Decimal(payload["refunded"])
    full = refunded >= Decimal(payload["amount"])
    order_mark_refunded(number=number, full=full, note=f"refunded {payload['refunded']} at the gateway")
    # The shopper hears of what the shop's own refunds (each e-mailed already) do not account for.
    order = Order.objects.filter(number=number).first()
    if order is None:
        return
    ours = order.refunds.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    if refunded > ours:
        _send_once(number, f"gateway-refund:{refunded}", "refunded",
                   f"Your {settings.STORE_NAME} order {number}: {'refunded' if full else 'refund'}",
                   amount=refunded - ours, full=full, cancelled=False)


# ---------------------------------------------------------------- e-mails to the shopper
def _send_once(number: str, key: str, kind: str, subject: str, **extra) -> None:
    """E-mail the shopper ``kind`` (orders/email/<kind>.txt and .html) about the order, once per ``key``: the marker
    is written in the outbox delivery's transaction, so an event published or delivered again finds it and sends
    nothing. (If the send fails, the marker rolls back with it and the outbox's retry sends it.)"""
    order = Order.objects.filter(number=number).first()
    if order is None:
        return
    _, created = OrderEmail.objects.get_or_create(key=f"{number}:{key}",
                                                defaults={"order": order, "order_number": number})
    if not created:
        return
    view = order_get(number=number, is_staff=True)
    context = {"order": view, "store_name": settings.STORE_NAME,
               "address": shipping_services.address_lines(view.shipping_address),
               # the order's secret link: it opens the order for a guest as for its account
               "url": f"{settings.STORE_URL}/orders/{number}/?token={order_access_token(number)}", **extra}
    message = EmailMultiAlternatives(subject=subject, to=[view.email],
                                     body=render_to_string(f"orders/email/{kind}.txt", context))
    message.attach_alternative(render_to_string(f"orders/email/{kind}.html", context), "text/html")
    message.send()


def order_send_confirmation(payload: dict) -> None:
    """Subscriber of ``order.paid``: the receipt (lines, discount, shipping, tax, total), with the order's link."""
    _send_once(payload["number"], "paid", "confirmation",
               f"Your {settings.STORE_NAME} order {payload['number']}: receipt")


def order_send_cancellation(payload: dict) -> None:
    """Subscriber of ``order.cancelled`` (an order never paid): tell the shopper why, and that nothing was charged.
    Not when the shopper saw it happen (``notify`` False: a card declined at checkout, the payment page left);
    they were never given the number as an order's."""
    if payload.get("notify", True):
        number = payload["number"]
        # (money that arrived after all, for an order whose units were gone by then, was given back in full)
        refunded = sum((p.refunded_amount for p in payment_services.payment_summaries(order_reference=number)),
                       Decimal("0.00"))
        _send_once(number, "cancelled", "cancelled", f"Your {settings.STORE_NAME} order {number} was cancelled",
                   reason=_shopper_reason(payload.get("reason", "")), refunded=refunded)


def _shopper_reason(note: str) -> str:
    """The history's note as the shopper reads it: a staff member's name stays in the history."""
    if note.startswith("cancelled by "):
        return "we had to cancel it"
    if note == "not paid in time":
        return "the payment was not completed in time"
    return note or "it could not be completed"


def order_send_refund(payload: dict) -> None:
    """Subscriber of ``order.refunded`` (a refund recorded by order_refund): the amount given back, partial or full,
    or a paid order's cancellation with its refund. What went back on the shelf is the shop's business, not said."""
    number, amount = payload["number"], Decimal(payload["amount"])
    if payload.get("cancelled"):
        subject = f"Your {settings.STORE_NAME} order {number} was cancelled"
    else:
        subject = f"Your {settings.STORE_NAME} order {number}: {'refunded' if payload.get('full') else 'refund'}"
    _send_once(number, f"refund:{payload['key']}", "refunded", subject, amount=amount,
               full=bool(payload.get("full")), cancelled=bool(payload.get("cancelled")))


def order_send_shipped(payload: dict) -> None:
    """Subscriber of ``order.shipped``: on its way, by which method and, if the method gives one, how long."""
    number = payload["number"]
    _send_once(number, "shipped", "shipped", f"Your {settings.STORE_NAME} order {number} has shipped",
               estimate=_delivery_estimate(number))


def _delivery_estimate(number: str) -> str:
    """The estimate the order's shipping method gives now (the order records the method, not its estimate);
    empty when the method gives none or no longer delivers there."""
    order = Order.objects.filter(number=number).first()
    if order is None or not order.shipping_method:
        return ""
    quotes = shipping_services.shipping_quotes(country=str(order.shipping_address.get("country", "")),
                                               subtotal=order.subtotal - order.discount)
    return next((quote.estimate for quote in quotes if quote.code == order.shipping_method), "")
