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
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from store.core import outbox
from store.core.exceptions import InvalidInput

from .gateways import from_minor_units, gateway_for, luhn_ok, to_minor_units
from .models import Payment, Refund, WebhookEvent
from .types import (
    CardDetails,
    ChargeResult,
    InvalidCard,
    NothingLeftToRefund,
    PaymentSummary,
    RefundPending,
    RefundRefused,
    ReturnUrls,
    StartedPayment,
    TestPaymentsDisabled,
)

logger = logging.getLogger(__name__)


def payment_methods() -> tuple[str, ...]:
    """The ways to pay this shop offers, best first: Stripe's hosted page when Stripe is configured, the test
    gateway's card numbers only in test mode (never in production unless PAYMENTS_TEST_MODE says so)."""
    stripe = ("stripe_checkout", "stripe") if settings.STRIPE_SECRET_KEY else ()
    return (*stripe, *(("card",) if settings.PAYMENTS_TEST_MODE else ()))


def payment_details_parse(data) -> CardDetails:
    """The ``payment`` object of a checkout → CardDetails; bad details are a 400 naming the field, before any
    charge."""
    if not isinstance(data, dict):
        raise InvalidInput("payment must be an object with a method.", extra={"field": "payment"})
    method = data.get("method")
    offered = payment_methods()
    if method == "card" and "card" not in offered:
        raise TestPaymentsDisabled("Test card payments are disabled in this shop; they take no real money.",
                                   extra={"field": "payment.method"})
    if method in ("stripe", "stripe_checkout") and not settings.STRIPE_SECRET_KEY:
        raise InvalidInput("Stripe is not configured in this shop.", extra={"field": "payment.method"})
    if method not in offered or not isinstance(method, str):
        raise InvalidInput(f"payment.method must be one of: {', '.join(offered) or 'none configured'}.",
                           extra={"field": "payment.method"})
    if method == "card":
        number = data.get("card_number")
        number = "".join(number.split()) if isinstance(number, str) and len(number) <= 40 else ""
        if not luhn_ok(number):
            raise InvalidCard("That card number is not valid.", extra={"field": "payment.card_number"})
        return CardDetails(method="card", card_number=number)
    if method == "stripe":
        pm = data.get("payment_method")
        if not isinstance(pm, str) or not pm.startswith("pm_") or len(pm) > 255 or not pm.isascii() \
                or not pm.replace("_", "").isalnum():
            raise InvalidInput("payment.payment_method must be a Stripe PaymentMethod id (pm_…).",
                               extra={"field": "payment.payment_method"})
        return CardDetails(method="stripe", payment_method=pm)
    return CardDetails(method="stripe_checkout")


def _result(payment: Payment, *, code: str = "", message: str = "", retryable: bool = False,
            client_secret: str = "") -> ChargeResult:
    outcome = {Payment.State.SUCCEEDED: "succeeded", Payment.State.FAILED: "declined",
               Payment.State.PENDING: "redirect" if payment.redirect_url else "unknown"}.get(payment.state,
                                                                                          "succeeded")
    return ChargeResult(order_reference=payment.order_reference, outcome=outcome, amount=payment.amount,
                        currency=payment.currency, code=code or payment.failure_code,
                        message=message or payment.failure_message, retryable=retryable,
                        redirect_url=payment.redirect_url if outcome == "redirect" else "",
                        client_secret=client_secret if outcome == "unknown" else "")


def payment_amount_exact(*, amount: Decimal, currency: str) -> bool:
    """Whether the amount can be charged exactly in the currency's smallest unit (no 1200.50 JPY)."""
    return from_minor_units(to_minor_units(amount, currency), currency) == amount


def _pending(*, order_reference: str, amount: Decimal, currency: str, card: CardDetails,
             idempotency_key: str) -> Payment:
    return Payment(order_reference=order_reference, amount=amount, currency=currency, gateway=card.method,
                   idempotency_key=idempotency_key, card_last4=card.card_number[-4:],
                   payment_method=card.payment_method, state=Payment.State.PENDING)


def payment_start(*, order_reference: str, amount: Decimal, currency: str, card: CardDetails,
                  idempotency_key: str) -> StartedPayment:
    """Record the charge about to be made, PENDING, inside the caller's transaction (the one that creates the
    order): from then on anyone settling or cancelling the order finds it, and can void it before it is sent."""
    payment = _pending(order_reference=order_reference, amount=amount, currency=currency, card=card,
                       idempotency_key=idempotency_key)
    payment.save(force_insert=True)
    return StartedPayment(id=payment.pk, idempotency_key=idempotency_key)


def payment_charge(*, order_reference: str, amount: Decimal, currency: str, card: CardDetails,
                   idempotency_key: str, email: str = "", urls: ReturnUrls | None = None,
                   started: StartedPayment | None = None) -> ChargeResult:
    """Take ``amount`` for the order, once (recorded by ``payment_start`` first, or here). Call it outside any
    transaction or lock. With Stripe Checkout the answer is "redirect": the shopper pays on Stripe's page
    (``redirect_url``), and the webhook or the return page settles it (``payment_settle``).

    ``started``: what ``payment_start`` returned, its transaction committed: the payment is not read back. A void
    racing this call is no worse off than with a read (it could land just after one): only a pending payment
    takes the gateway's answer, the test gateway refuses a voided key, and a Stripe success arriving after a
    void is recorded by its webhook and refunded with the cancelled order."""
    if started is not None and started.idempotency_key == idempotency_key:
        payment = _pending(order_reference=order_reference, amount=amount, currency=currency, card=card,
                           idempotency_key=idempotency_key)
        payment.pk = started.id
    else:
        payment = Payment.objects.filter(idempotency_key=idempotency_key).first()
    if payment is None:
        try:
            with transaction.atomic():
                payment_start(order_reference=order_reference, amount=amount, currency=currency, card=card,
                              idempotency_key=idempotency_key)
        except IntegrityError:
            pass  # a concurrent call recorded it
        payment = Payment.objects.get(idempotency_key=idempotency_key)
    if payment.state != Payment.State.PENDING:
        return _result(payment)  # answered before (or voided): the same answer, no second charge
    gateway = gateway_for(card.method)
    try:
        answer = gateway.charge(amount=amount, currency=currency, card=card, idempotency_key=idempotency_key,
                                order_reference=order_reference, email=email, urls=urls)
    except Exception:  # no answer: the money may or may not have moved; compensation will ask
        logger.exception("payment %s: no answer from the %s gateway", idempotency_key, card.method)
        return _result(payment)
    return _record(payment, answer)


def _record(payment: Payment, answer) -> ChargeResult:
    """Store a gateway's answer on a payment still pending (a webhook may have settled it first: then that)."""
    if answer.outcome in ("unknown", "redirect"):
        found = {"gateway_reference": answer.reference, "checkout_session": answer.session,
                 "redirect_url": answer.redirect_url}
        changes = {field: value for field, value in found.items() if value}
    else:
        changes = {"state": Payment.State.SUCCEEDED if answer.outcome == "succeeded" else Payment.State.FAILED,
                   "gateway_reference": answer.reference or payment.gateway_reference,
                   "checkout_session": answer.session or payment.checkout_session, "failure_code": answer.code,
                   "failure_message": answer.message[:255], "redirect_url": ""}
    recorded = _update_pending(payment.pk, changes) if changes else None
    if recorded is None:  # nothing to record, or no longer pending: the payment as it stands
        payment.refresh_from_db()
        recorded = payment
    return _result(recorded, retryable=answer.retryable, client_secret=getattr(answer, "client_secret", ""))


def _update_pending(payment_id: int, changes: dict) -> Payment | None:
    """Apply ``changes`` to the payment if it is still pending and return it as stored, in one statement (UPDATE
    ... RETURNING, not an UPDATE and a read); None if it was not pending any more."""
    fields = [Payment._meta.get_field(name) for name in changes]
    assignments = ", ".join(f"{field.column} = %s" for field in fields)
    values = [field.get_db_prep_save(changes[field.name], connection) for field in fields]
    sql = (f"UPDATE {Payment._meta.db_table} SET {assignments} WHERE id = %s AND state = %s "  # noqa: S608
           "RETURNING *")  # (columns from our model; every value is a bound parameter)
    return next(iter(Payment.objects.raw(sql, [*values, payment_id, Payment.State.PENDING])), None)


def payment_settle(*, order_reference: str, abandon: bool = False) -> ChargeResult | None:
    """Ask the gateway what became of the order's pending charge (after a timeout, a crash, or the shopper's return
    from a hosted payment page). With ``abandon`` (the order's time is up) a charge still undecided is voided at
    the gateway, so it can no longer take money; one the gateway says was paid meanwhile is "succeeded". None if
    the order never reached a charge; "unknown" while the gateway cannot say."""
    payment = Payment.objects.filter(order_reference=order_reference).order_by("-id").first()
    if payment is None:
        return None
    if payment.state != Payment.State.PENDING:
        return _result(payment)
    card = CardDetails(method=payment.gateway, payment_method=payment.payment_method)
    gateway = gateway_for(payment.gateway)
    asked = {"idempotency_key": payment.idempotency_key, "reference": payment.gateway_reference,
             "session": payment.checkout_session, "created_at": payment.created_at, "amount": payment.amount,
             "currency": payment.currency, "card": card}
    try:
        answer = gateway.lookup(**asked)
        if answer.outcome == "unknown" and abandon:
            answer = gateway.void(**asked)
    except Exception:  # still no answer: stays pending; the caller retries later
        logger.warning("payment %s: the gateway still does not answer", payment.idempotency_key, exc_info=True)
        return _result(payment)
    return _record(payment, answer)


def payment_refund(*, order_reference: str, amount: Decimal | None = None, reason: str = "",
                   idempotency_key: str, up_to_left: bool = False) -> Decimal:
    """Give back ``amount`` (all that is left by default) of the order's successful payment; the same key refunds
    once. Returns the amount refunded by this call (0 for a repeat). With ``up_to_left`` an amount above what is
    left is cut to it (under the payment's lock, counting refunds still pending) instead of refused; nothing left
    at all is NothingLeftToRefund.

    The gateway is asked outside any lock and any transaction: the refund is first recorded as pending (so it
    counts against what is left, and a concurrent refund cannot take the same money), then sent with its key, then
    settled. If the gateway gives no answer the refund stays pending and the error says so; sending the same refund
    again finishes it (the gateway makes it once, whatever it had done)."""
    refund = _refund_claim(order_reference, amount, reason, idempotency_key, up_to_left)
    if refund is None:
        return Decimal("0.00")
    payment = refund.payment
    try:
        reference = gateway_for(payment.gateway).refund(reference=payment.gateway_reference, amount=refund.amount,
                                                        idempotency_key=refund.idempotency_key,
                                                        currency=payment.currency)
    except Exception as exc:
        if _definitive_refusal(exc):
            Refund.objects.filter(pk=refund.pk, state=Refund.State.PENDING).update(state=Refund.State.FAILED)
            raise RefundRefused(f"The payment provider refused the refund: {exc}") from exc
        logger.warning("refund %s: no answer from the gateway; it stays pending", idempotency_key, exc_info=True)
        raise RefundPending(f"The payment provider did not answer; the refund of {refund.amount} is pending. Send it "
                            "again to finish it (it will not be made twice).") from exc
    return _refund_settle(refund.pk, reference)


def payment_refund_amount(*, idempotency_key: str) -> Decimal:
    """What the refund sent with this key has given back (0 until the provider has made it)."""
    refund = Refund.objects.filter(idempotency_key=idempotency_key, state=Refund.State.SUCCEEDED).first()
    return refund.amount if refund else Decimal("0.00")


def payment_refund_state(*, idempotency_key: str) -> str:
    """What became of the refund sent with this key: "" (none was sent), "pending" (sent, no answer yet: the
    provider may have made it; sending it again finishes it), "succeeded", or "failed" (refused for good: no money
    moved, and this key will never move any, so a caller that must still refund sends it under a new key)."""
    return Refund.objects.filter(idempotency_key=idempotency_key).values_list("state", flat=True).first() or ""


def _refund_claim(order_reference: str, amount: Decimal | None, reason: str, key: str,
                  up_to_left: bool = False) -> Refund | None:
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
        if payment is None:
            raise RefundRefused(f"No payment of {order_reference} can be refunded.")
        left = payment.amount - payment.refunded_amount - _refunds_total(payment, Refund.State.PENDING)
        if payment.state == Payment.State.REFUNDED or left <= 0:
            raise NothingLeftToRefund(f"No payment of {order_reference} can be refunded: nothing is left of it.",
                                      extra={"refundable": "0.00"})
        amount = left if amount is None else min(amount, left) if up_to_left else amount
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
    ignored). What the order side must do follows through the outbox, in the same transaction. Events may come in
    any order: each only moves a payment forward from what it is (a success after a failure is money taken late,
    and is recorded so the order side refunds it)."""
    import stripe

    if not settings.STRIPE_WEBHOOK_SECRET:
        raise WebhookRejected("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
    try:
        event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    except (ValueError, stripe.SignatureVerificationError):
        raise WebhookRejected("The webhook's signature does not verify.") from None
    data = event.to_dict()
    kind, obj = data.get("type", ""), (data.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict) or not isinstance(data.get("id"), str):
        raise WebhookRejected("The webhook's event has no object.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(event_id=data["id"][:100], type=str(kind)[:100], payload=data)
        except IntegrityError:
            return "duplicate"
        if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
            payment = _stripe_payment(intent_id=obj.get("id", ""), metadata=obj.get("metadata"))
            # On Stripe's hosted page a declined card is one attempt: the shopper may try another card there, so
            # only the session's own end (completed, expired, async failure) decides a Checkout payment.
            if not (payment and payment.gateway == "stripe_checkout" and kind.endswith("failed")):
                _apply_outcome(payment, succeeded=kind == "payment_intent.succeeded", intent_id=obj.get("id", ""),
                               error=obj.get("last_payment_error") or {})
        elif kind in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
            if obj.get("payment_status") in ("paid", "no_payment_required"):
                _apply_outcome(_stripe_payment(session_id=obj.get("id", ""), metadata=obj.get("metadata")),
                               succeeded=True, intent_id=obj.get("payment_intent") or "")
        elif kind in ("checkout.session.async_payment_failed", "checkout.session.expired"):
            _apply_outcome(_stripe_payment(session_id=obj.get("id", ""), metadata=obj.get("metadata")),
                           succeeded=False, intent_id=obj.get("payment_intent") or "",
                           error={"code": "expired" if kind.endswith("expired") else "payment_failed"})
        elif kind == "charge.refunded":
            _apply_refund(obj)
    return "applied"


def _stripe_payment(*, intent_id: str = "", session_id: str = "", metadata=None) -> Payment | None:
    payments = Payment.objects.select_for_update().filter(gateway__in=("stripe", "stripe_checkout"))
    key = (metadata or {}).get("idempotency_key") if isinstance(metadata, dict) else None
    return ((payments.filter(gateway_reference=intent_id).first() if intent_id else None)
            or (payments.filter(checkout_session=session_id).first() if session_id else None)
            or (payments.filter(idempotency_key=key).first() if key else None))


def _apply_outcome(payment: Payment | None, *, succeeded: bool, intent_id: str, error: dict | None = None) -> None:
    if payment is None:
        return  # not ours
    late = payment.state == Payment.State.FAILED and succeeded  # voided or declined here, paid at Stripe after all
    if payment.state != Payment.State.PENDING and not late:
        return  # already recorded (the checkout or the return page was first)
    error = error or {}
    payment.state = Payment.State.SUCCEEDED if succeeded else Payment.State.FAILED
    payment.gateway_reference = intent_id or payment.gateway_reference
    payment.failure_code = "" if succeeded else (error.get("decline_code") or error.get("code") or "card_declined")
    payment.failure_message = "" if succeeded else (error.get("message") or "")[:255]
    payment.redirect_url = ""
    payment.save(update_fields=["state", "gateway_reference", "failure_code", "failure_message", "redirect_url",
                                "updated_at"])
    if succeeded:
        outbox.publish(PAYMENT_SUCCEEDED, {"order_reference": payment.order_reference})
    else:
        outbox.publish(PAYMENT_FAILED, {"order_reference": payment.order_reference, "code": payment.failure_code})


def _apply_refund(charge: dict) -> None:
    payment = _stripe_payment(intent_id=charge.get("payment_intent") or "", metadata=charge.get("metadata"))
    if payment is None:
        return
    try:
        refunded = from_minor_units(int(charge.get("amount_refunded", 0)), payment.currency)
    except (TypeError, ValueError):
        return
    if refunded <= payment.refunded_amount:
        return  # our own refund, already recorded
    payment.refunded_amount = min(refunded, payment.amount)
    payment.state = (Payment.State.REFUNDED if payment.refunded_amount == payment.amount
                     else Payment.State.PARTIALLY_REFUNDED)
    payment.save(update_fields=["refunded_amount", "state", "updated_at"])
    outbox.publish(PAYMENT_REFUNDED, {"order_reference": payment.order_reference,
                                      "refunded": str(payment.refunded_amount), "amount": str(payment.amount)})
