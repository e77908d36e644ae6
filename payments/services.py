"""Payments' public interface: charge an order, ask what happened to a charge, refund.

A charge is recorded PENDING in its own committed transaction *before* the gateway is called (with an
idempotency key derived from the order), and its answer is recorded after; nothing here runs inside another
app's lock. If no answer comes (a timeout, a crash), the payment stays PENDING and ``payment_settle`` later asks
the gateway by the same key. The same key never charges twice.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum

from store.core import outbox
from store.core.exceptions import InvalidInput

from .gateways import gateway_for, luhn_ok
from .models import Payment, Refund, WebhookEvent
from .types import CardDetails, ChargeResult, InvalidCard, PaymentSummary, RefundPending, RefundRefused

logger = logging.getLogger(__name__)


def payment_details_parse(data) -> CardDetails:
    """The ``payment`` object of a checkout → CardDetails; a bad card is InvalidCard (400) before any charge."""
    if not isinstance(data, dict):
        raise InvalidInput("payment must be an object with a method.", extra={"field": "payment"})
    method = data.get("method")
    if method == "card":
        number = "".join(str(data.get("card_number") or "").split())
        if not luhn_ok(number):
            raise InvalidCard("That card number is not valid.", extra={"field": "payment.card_number"})
        return CardDetails(method="card", card_number=number)
    if method == "stripe":
        if not settings.STRIPE_SECRET_KEY:
            raise InvalidInput("Stripe is not configured in this shop; pay by card.", extra={"field": "payment"})
        pm = str(data.get("payment_method") or "")
        if not pm.startswith("pm_"):
            raise InvalidInput("payment.payment_method must be a Stripe PaymentMethod id (pm_…).",
                               extra={"field": "payment.payment_method"})
        return CardDetails(method="stripe", payment_method=pm)
    raise InvalidInput("payment.method must be 'card'" + (" or 'stripe'." if settings.STRIPE_SECRET_KEY else "."),
                       extra={"field": "payment.method"})


def _result(payment: Payment, *, code: str = "", message: str = "", retryable: bool = False) -> ChargeResult:
    outcome = {Payment.State.SUCCEEDED: "succeeded", Payment.State.FAILED: "declined",
               Payment.State.PENDING: "unknown"}.get(payment.state, "succeeded")
    return ChargeResult(order_reference=payment.order_reference, outcome=outcome, amount=payment.amount,
                        currency=payment.currency, code=code or payment.failure_code,
                        message=message or payment.failure_message, retryable=retryable)


def payment_charge(*, order_reference: str, amount: Decimal, currency: str, card: CardDetails,
                   idempotency_key: str) -> ChargeResult:
    """Take ``amount`` for the order, once. Call it outside any transaction or lock."""
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                order_reference=order_reference, amount=amount, currency=currency, gateway=card.method,
                idempotency_key=idempotency_key, card_last4=card.card_number[-4:],
                payment_method=card.payment_method)
    except IntegrityError:
        payment = Payment.objects.get(idempotency_key=idempotency_key)
        if payment.state != Payment.State.PENDING:
            return _result(payment)  # answered before: the same answer, no second charge
    gateway = gateway_for(card.method)
    try:
        answer = gateway.charge(amount=amount, currency=currency, card=card, idempotency_key=idempotency_key)
    except Exception:  # no answer: the money may or may not have moved; compensation will ask
        logger.exception("payment %s: no answer from the %s gateway", idempotency_key, card.method)
        return _result(payment)
    return _record(payment, answer)


def _record(payment: Payment, answer) -> ChargeResult:
    if answer.outcome == "unknown":
        return _result(payment)
    state = Payment.State.SUCCEEDED if answer.outcome == "succeeded" else Payment.State.FAILED
    Payment.objects.filter(pk=payment.pk, state=Payment.State.PENDING).update(
        state=state, gateway_reference=answer.reference, failure_code=answer.code,
        failure_message=answer.message[:255])
    payment.refresh_from_db()
    return _result(payment, retryable=answer.retryable)


def payment_settle(*, order_reference: str) -> ChargeResult | None:
    """Ask the gateway what became of the order's pending charge (after a timeout or a crash). None if the
    order never reached a charge."""
    payment = Payment.objects.filter(order_reference=order_reference).order_by("-id").first()
    if payment is None:
        return None
    if payment.state != Payment.State.PENDING:
        return _result(payment)
    card = CardDetails(method=payment.gateway, payment_method=payment.payment_method)
    try:
        answer = gateway_for(payment.gateway).lookup(idempotency_key=payment.idempotency_key, amount=payment.amount,
                                                     currency=payment.currency, card=card)
    except Exception:  # still no answer: stays pending; the caller retries later
        logger.warning("payment %s: the gateway still does not answer", payment.idempotency_key, exc_info=True)
        return _result(payment)
    return _record(payment, answer)


def payment_refund(*, order_reference: str, amount: Decimal | None = None, reason: str = "",
                   idempotency_key: str) -> Decimal:
    """Give back ``amount`` (all that is left by default) of the order's successful payment; the same key refunds
    once. Returns the amount refunded by this call (0 for a repeat).

    The gateway is asked outside any lock and any transaction: the refund is first recorded as pending (so it
    counts against what is left, and a concurrent refund cannot take the same money), then sent with its key, then
    settled. If the gateway gives no answer the refund stays pending and the error says so; sending the same refund
    again finishes it (the gateway makes it once, whatever it had done)."""
    refund = _refund_claim(order_reference, amount, reason, idempotency_key)
    if refund is None:
        return Decimal("0.00")
    payment = refund.payment
    try:
        reference = gateway_for(payment.gateway).refund(reference=payment.gateway_reference, amount=refund.amount,
                                                        idempotency_key=refund.idempotency_key)
    except Exception as exc:
        if _definitive_refusal(exc):
            Refund.objects.filter(pk=refund.pk, state=Refund.State.PENDING).update(state=Refund.State.FAILED)
            raise RefundRefused(f"The payment provider refused the refund: {exc}") from exc
        logger.warning("refund %s: no answer from the gateway; it stays pending", idempotency_key, exc_info=True)
        raise RefundPending(f"The payment provider did not answer; the refund of {refund.amount} is pending. Send it "
                            "again to finish it (it will not be made twice).") from exc
    return _refund_settle(refund.pk, reference)


def _refund_claim(order_reference: str, amount: Decimal | None, reason: str, key: str) -> Refund | None:
    """Under the payment's lock: the pending refund to send (a new one, or one a retry finishes), or None when this
    key has already refunded."""
    with transaction.atomic():
        payment = (Payment.objects.select_for_update()
                   .filter(order_reference=order_reference,
                           state__in=[Payment.State.SUCCEEDED, Payment.State.PARTIALLY_REFUNDED,
                                      Payment.State.REFUNDED])
                   .order_by("-id").first())
        existing = Refund.objects.select_related("payment").filter(idempotency_key=key).first()
        if existing is not None:
            if existing.state == Refund.State.FAILED:
                raise RefundRefused("The payment provider refused this refund.")
            return existing if existing.state == Refund.State.PENDING else None
        if payment is None or payment.state == Payment.State.REFUNDED:
            raise RefundRefused(f"No payment of {order_reference} can be refunded.")
        left = payment.amount - payment.refunded_amount - _refunds_total(payment, Refund.State.PENDING)
        amount = left if amount is None else amount
        if amount <= 0 or amount > left:
            raise RefundRefused(f"Refund {amount} is more than the {left} left to refund.",
                                extra={"refundable": str(left)})
        return Refund.objects.create(payment=payment, amount=amount, reason=reason[:255], idempotency_key=key,
                                     state=Refund.State.PENDING)


def _refund_settle(refund_pk: int, reference: str) -> Decimal:
    """Record a refund the gateway made. What the payment has had back never counts one refund twice, even when a
    Stripe webhook reported the money before this (a webhook sets the gateway's own total)."""
    with transaction.atomic():  # the payment's lock first, as every refund path takes it
        payment = Payment.objects.select_for_update().get(refunds__pk=refund_pk)
        refund = Refund.objects.get(pk=refund_pk)
        if refund.state != Refund.State.PENDING:
            return Decimal("0.00")  # a concurrent retry settled it
        refund.state, refund.gateway_reference = Refund.State.SUCCEEDED, reference
        refund.save(update_fields=["state", "gateway_reference"])
        # Ours, or the gateway's own total if a webhook told us more (refunds made in Stripe's dashboard too).
        ours = _refunds_total(payment, Refund.State.SUCCEEDED)
        payment.refunded_amount = min(max(payment.refunded_amount, ours), payment.amount)
        payment.state = (Payment.State.REFUNDED if payment.refunded_amount == payment.amount
                         else Payment.State.PARTIALLY_REFUNDED)
        payment.save(update_fields=["refunded_amount", "state", "updated_at"])
        return refund.amount


def _refunds_total(payment: Payment, state: str) -> Decimal:
    return payment.refunds.filter(state=state).aggregate(total=Sum("amount"))["total"] or Decimal("0.00")


def _definitive_refusal(exc: Exception) -> bool:
    """A gateway's "no" (Stripe's invalid-request and card errors), as opposed to no answer at all."""
    import stripe

    return isinstance(exc, (stripe.InvalidRequestError, stripe.CardError))


def payment_summaries(*, order_reference: str) -> list[PaymentSummary]:
    return [PaymentSummary(order_reference=p.order_reference, amount=p.amount, currency=p.currency, state=p.state,
                           gateway=p.gateway, card_last4=p.card_last4, refunded_amount=p.refunded_amount)
            for p in Payment.objects.filter(order_reference=order_reference).order_by("id")]


# ---------------------------------------------------------------- Stripe webhooks
PAYMENT_SUCCEEDED = "payment.succeeded"  # outbox: {"order_reference"}
PAYMENT_FAILED = "payment.failed"  # outbox: {"order_reference", "code"}
PAYMENT_REFUNDED = "payment.refunded"  # outbox: {"order_reference", "refunded", "amount"}


class WebhookRejected(InvalidInput):
    code = "invalid_signature"


def payment_webhook(*, payload: bytes, signature: str) -> str:
    """A Stripe event: verified by its signature, recorded by its id, applied once (a replay is acknowledged and
    ignored). What the order side must do follows through the outbox, in the same transaction."""
    import stripe

    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookRejected("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        raise WebhookRejected("The webhook's signature does not verify.") from None
    data = event.to_dict()
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(event_id=data["id"], type=data["type"], payload=data)
        except IntegrityError:
            return "duplicate"
        obj = data.get("data", {}).get("object", {})
        if data["type"] in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            _apply_intent(obj, succeeded=data["type"] == "payment_intent.succeeded")
        elif data["type"] == "charge.refunded":
            _apply_refund(obj)
    return "applied"


def _stripe_payment(intent_id: str, metadata: dict) -> Payment | None:
    payments = Payment.objects.select_for_update().filter(gateway="stripe")
    key = (metadata or {}).get("idempotency_key")
    return (payments.filter(gateway_reference=intent_id).first() if intent_id else None) or (
        payments.filter(idempotency_key=key).first() if key else None)


def _apply_intent(intent: dict, *, succeeded: bool) -> None:
    payment = _stripe_payment(intent.get("id", ""), intent.get("metadata"))
    if payment is None or payment.state != Payment.State.PENDING:
        return  # the checkout already recorded it (the webhook raced it and lost), or not ours
    error = intent.get("last_payment_error") or {}
    payment.state = Payment.State.SUCCEEDED if succeeded else Payment.State.FAILED
    payment.gateway_reference = intent.get("id", "")
    payment.failure_code = "" if succeeded else (error.get("decline_code") or error.get("code") or "card_declined")
    payment.failure_message = "" if succeeded else (error.get("message") or "")[:255]
    payment.save(update_fields=["state", "gateway_reference", "failure_code", "failure_message", "updated_at"])
    if succeeded:
        outbox.publish(PAYMENT_SUCCEEDED, {"order_reference": payment.order_reference})
    else:
        outbox.publish(PAYMENT_FAILED, {"order_reference": payment.order_reference, "code": payment.failure_code})


def _apply_refund(charge: dict) -> None:
    payment = _stripe_payment(charge.get("payment_intent", ""), charge.get("metadata"))
    if payment is None:
        return
    refunded = (Decimal(charge.get("amount_refunded", 0)) / 100).quantize(Decimal("0.01"))
    if refunded <= payment.refunded_amount:
        return  # our own refund, already recorded
    payment.refunded_amount = min(refunded, payment.amount)
    payment.state = (Payment.State.REFUNDED if payment.refunded_amount == payment.amount
                     else Payment.State.PARTIALLY_REFUNDED)
    payment.save(update_fields=["refunded_amount", "state", "updated_at"])
    outbox.publish(PAYMENT_REFUNDED, {"order_reference": payment.order_reference,
                                      "refunded": str(payment.refunded_amount), "amount": str(payment.amount)})
