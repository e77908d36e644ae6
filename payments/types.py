"""What payments' services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from store.core.exceptions import ApplicationError, InvalidInput


@dataclass(frozen=True)
class CardDetails:
    """How the shopper pays: a card number for the test gateway ("card"), a Stripe PaymentMethod id made by
    Stripe.js ("stripe"), or Stripe's hosted Checkout page ("stripe_checkout": no card data reaches the shop)."""

    method: str  # "card" (test gateway) | "stripe" | "stripe_checkout"
    card_number: str = ""
    payment_method: str = ""


@dataclass(frozen=True)
class ReturnUrls:
    """Where a hosted payment page sends the shopper back: after paying, and after giving up."""

    success_url: str
    cancel_url: str


@dataclass(frozen=True)
class StartedPayment:
    """A charge recorded PENDING by ``payment_start``, handed to ``payment_charge`` so it need not read it back."""

    id: int
    idempotency_key: str


@dataclass(frozen=True)
class ChargeResult:
    """A gateway's answer. ``outcome``: succeeded, declined (definite: no money taken), or unknown (no answer:
    compensation must ask the gateway later)."""

    order_reference: str
    outcome: str  # succeeded | declined | unknown | redirect (the shopper pays on the provider's page)
    amount: Decimal
    currency: str
    code: str = ""
    message: str = ""
    retryable: bool = False
    redirect_url: str = ""
    client_secret: str = ""  # the shopper must act in Stripe.js first (3-D Secure); never stored

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


class TestPaymentsDisabled(InvalidInput):
    """The test gateway takes no real money: refused unless PAYMENTS_TEST_MODE is on (docs/api.md)."""

    code = "test_payments_disabled"
    __test__ = False  # not a pytest test class


class PaymentInFlight(ApplicationError):
    """The provider has not yet said whether the money moved: nothing may be decided about the order until it does."""

    code = "payment_in_flight"
    status = 409
    retry_after = 30


class RefundRefused(ApplicationError):
    code = "refund_refused"
    status = 409


class NothingLeftToRefund(RefundRefused):
    """The order's payment has been given back in full already: there is no money left to refund."""


class RefundPending(ApplicationError):
    """The gateway gave no answer: the refund is recorded as pending; sending it again with its key finishes it."""

    code = "refund_pending"
    status = 503
    retry_after = 30
