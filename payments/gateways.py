"""The gateways behind payments' services: one interface, a local test gateway (Stripe's test card numbers), and
Stripe PaymentIntents (with its own issue's tests against a local fake of the Stripe API)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import SandboxCharge, SandboxRefund
from .types import CardDetails

# The test gateway's cards, mirroring Stripe's test card numbers (API.md).
TEST_CARDS = {
    "4242424242424242": ("succeeded", "", ""),
    "4000000000000002": ("card_declined", "card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000000119": ("processing_error", "processing_error",
                         "The card could not be processed; please try again."),
}


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(number)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


@dataclass(frozen=True)
class GatewayAnswer:
    outcome: str  # succeeded | declined | unknown
    reference: str = ""
    code: str = ""
    message: str = ""
    retryable: bool = False


class TestGateway:
    """Answers at once and for good; remembers each charge by idempotency key, like a real gateway."""

    name = "test"
    __test__ = False  # not a pytest test class

    def charge(self, *, amount: Decimal, currency: str, card: CardDetails, idempotency_key: str) -> GatewayAnswer:
        outcome = TEST_CARDS.get(card.card_number, ("succeeded",))[0]
        try:
            with transaction.atomic():
                record = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key, reference=f"tg_{secrets.token_hex(10)}", amount=amount,
                    currency=currency, outcome=outcome)
        except IntegrityError:  # the same request again: the first answer
            record = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return self._answer(record)

    def lookup(self, *, idempotency_key: str, **charge) -> GatewayAnswer:
        """What happened to a charge sent with this key (compensation asks this after a lost answer)."""
        record = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if record is None:
            return GatewayAnswer(outcome="declined", code="not_charged", message="No charge was made.")
        return self._answer(record)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> str:
        """Like Stripe's: the same key refunds once, however often it is sent."""
        with transaction.atomic():
            record = SandboxCharge.objects.select_for_update().get(reference=reference)
            _, created = SandboxRefund.objects.get_or_create(
                idempotency_key=idempotency_key, defaults={"charge_reference": reference, "amount": amount})
            if created:
                record.refunded += amount
                record.save(update_fields=["refunded"])
        return f"tgr_{idempotency_key[-12:]}"

    @staticmethod
    def _answer(record: SandboxCharge) -> GatewayAnswer:
        if record.outcome == "succeeded":
            return GatewayAnswer(outcome="succeeded", reference=record.reference)
        _, code, message = next(v for v in TEST_CARDS.values() if v[0] == record.outcome)
        return GatewayAnswer(outcome="declined", reference=record.reference, code=code, message=message,
                             retryable=record.outcome == "processing_error")


class StripeGateway:
    """Stripe PaymentIntents, created and confirmed in one call with Stripe's Idempotency-Key set to ours: a retry
    of the same charge (or compensation asking what happened) gets Stripe's first answer back, never a second
    charge."""

    name = "stripe"

    def __init__(self):
        import stripe

        self.stripe = stripe
        bases = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        self.client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=bases, max_network_retries=0)

    @staticmethod
    def _cents(amount: Decimal) -> int:
        return int((amount * 100).to_integral_value())

    def charge(self, *, amount: Decimal, currency: str, card: CardDetails, idempotency_key: str) -> GatewayAnswer:
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": self._cents(amount), "currency": currency.lower(),
                        "payment_method": card.payment_method, "confirm": True,
                        "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
                        "metadata": {"idempotency_key": idempotency_key}},
                options={"idempotency_key": idempotency_key},
            )
        except self.stripe.CardError as exc:
            error = exc.error
            return GatewayAnswer(outcome="declined", reference=(getattr(error, "payment_intent", None) and
                                 error.payment_intent.id) or "", code=getattr(error, "decline_code", None) or
                                 exc.code or "card_declined", message=exc.user_message or "Your card was declined.")
        # Anything else (no connection, a timeout, a 5xx) is no answer: the caller keeps the payment pending.
        if intent.status == "succeeded":
            return GatewayAnswer(outcome="succeeded", reference=intent.id)
        if intent.status in ("requires_payment_method", "canceled"):
            return GatewayAnswer(outcome="declined", reference=intent.id, code="card_declined",
                                 message="Your card was declined.")
        return GatewayAnswer(outcome="unknown", reference=intent.id)

    def lookup(self, *, idempotency_key: str, **charge) -> GatewayAnswer:
        """Stripe keeps an idempotent request's answer for 24 hours: repeating it is how to ask what happened."""
        return self.charge(idempotency_key=idempotency_key, **charge)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> str:
        refund = self.client.v1.refunds.create(params={"payment_intent": reference, "amount": self._cents(amount)},
                                               options={"idempotency_key": idempotency_key})
        return refund.id


def gateway_for(method: str):
    if method == "card":
        return TestGateway()
    if method == "stripe":
        return StripeGateway()
    raise ValueError(f"no gateway for {method!r}")
