"""What payments' services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from store.core.exceptions import ApplicationError, InvalidInput


@dataclass(frozen=True)
class CardDetails:
    """What the shopper gave to pay with: a card number for the test gateway, or a Stripe PaymentMethod id."""

    method: str  # "card" (test gateway) | "stripe"
    card_number: str = ""
    payment_method: str = ""


@dataclass(frozen=True)
class ChargeResult:
    """A gateway's answer. ``outcome``: succeeded, declined (definite: no money taken), or unknown (no answer:
    compensation must ask the gateway later)."""

    order_reference: str
    outcome: str
    amount: Decimal
    currency: str
    code: str = ""
    message: str = ""
    retryable: bool = False

    @property
    def succeeded(self) -> bool:
        return self.outcome == "succeeded"


@dataclass(frozen=True)
class PaymentSummary:
    order_reference: str
    amount: Decimal
    currency: str
    state: str
    gateway: str
    card_last4: str
    refunded_amount: Decimal


class InvalidCard(InvalidInput):
    code = "invalid_card"


class RefundRefused(ApplicationError):
    code = "refund_refused"
    status = 409


class RefundPending(ApplicationError):
    """The gateway gave no answer: the refund is recorded as pending; sending it again with its key finishes it."""

    code = "refund_pending"
    status = 503
    retry_after = 30
