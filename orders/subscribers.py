"""What the orders side does when other apps' events arrive through the outbox: compensation (an expired
reservation, a payment with no answer, Stripe's webhooks) and the e-mails. Registered in OrdersConfig.ready;
every subscriber is idempotent, because the outbox delivers at least once."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from cart import services as cart_services
from payments import services as payment_services

from .models import Order
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
    if Order.objects.filter(number=payload["order_reference"], status=Status.PENDING_PAYMENT).exists():
        order_cancel(number=payload["order_reference"], note=f"payment failed: {payload.get('code', '')}")


def order_payment_refunded(payload: dict) -> None:
    """Subscriber of ``payment.refunded``: a refund made at the gateway (e.g. Stripe's dashboard) shows here."""
    order_mark_refunded(number=payload["order_reference"],
                        full=Decimal(payload["refunded"]) >= Decimal(payload["amount"]),
                        note=f"refunded {payload['refunded']} at the gateway")


def _send(order: Order, kind: str, subject: str, **extra) -> None:
    context = {"order": order_get(number=order.number, is_staff=True), "store_name": settings.STORE_NAME,
               "url": f"{settings.STORE_URL}/orders/{order.number}/?token={order_access_token(order.number)}", **extra}
    message = EmailMultiAlternatives(subject=subject, to=[order.email],
                                     body=render_to_string(f"orders/email/{kind}.txt", context))
    message.attach_alternative(render_to_string(f"orders/email/{kind}.html", context), "text/html")
    message.send()


def order_send_confirmation(payload: dict) -> None:
    """Subscriber of ``order.paid``: the receipt e-mail (text and HTML), with the order's link."""
    order = Order.objects.filter(number=payload["number"]).first()
    if order is not None:
        _send(order, "confirmation", f"Your {settings.STORE_NAME} order {order.number}")


def order_send_cancellation(payload: dict) -> None:
    """Subscriber of ``order.cancelled``: tell the shopper why, and that no money was kept."""
    order = Order.objects.filter(number=payload["number"]).first()
    if order is not None:
        _send(order, "cancelled", f"Your {settings.STORE_NAME} order {order.number} was cancelled",
              reason=payload.get("reason", ""))


