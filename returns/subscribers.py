"""The e-mails of a return, sent from the outbox (at least once: a redelivery sends the same e-mail again, never
a different one): requested (with instructions), approved, rejected (with the reason), refunded (with the amount);
each as text and as HTML made from the same text, from the shop's address, with the order's secret link."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from orders import services as order_services

from .services import return_view
from .types import ReturnNotFound

SUBJECTS = {
    "requested": "We have your return request {number}",
    "approved": "Your return {number} is approved: please send the items",
    "rejected": "Your return {number} could not be accepted",
    "refunded": "Your return {number} is refunded",
}


def return_send_email(payload: dict) -> None:
    """Subscriber of return.requested, .approved, .rejected and .refunded (payload: {"number", "kind"})."""
    try:
        ret = return_view(number=payload["number"])
    except ReturnNotFound:
        return
    kind = payload.get("kind", "")
    if kind not in SUBJECTS:
        return
    url = (f"{settings.STORE_URL}/orders/{ret.order_number}/"
           f"?token={order_services.order_access_token(ret.order_number)}")
    context = {"ret": ret, "store_name": settings.STORE_NAME, "url": url,
               "window_days": settings.RETURN_WINDOW_DAYS}
    subject = SUBJECTS[kind].format(number=ret.number)
    text = render_to_string(f"returns/email/{kind}.txt", context)
    message = EmailMultiAlternatives(subject=f"{settings.STORE_NAME}: {subject}", to=[ret.email], body=text)
    message.attach_alternative(render_to_string("returns/email/_message.html",
                                                {**context, "subject": subject, "text": text}), "text/html")
    message.send()
