"""The gateways behind payments' services: one interface, a local test gateway (Stripe's test card numbers), and
Stripe PaymentIntents (with its own issue's tests against a local fake of the Stripe API)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from .models import SandboxCharge
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

    def lookup(self, *, idempotency_key: str) -> GatewayAnswer:
        """What happened to a charge sent with this key (compensation asks this after a lost answer)."""
        record = SandboxCharge.objects.filter(idempotency_key=idempotency_key).first()
        if record is None:
            return GatewayAnswer(outcome="declined", code="not_charged", message="No charge was made.")
        return self._answer(record)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str) -> str:
        with transaction.atomic():
            record = SandboxCharge.objects.select_for_update().get(reference=reference)
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


def gateway_for(method: str):
    if method == "card":
        return TestGateway()
    raise NotImplementedError("Stripe arrives with its own tests against a local fake of the Stripe API")
