"""The gateways behind payments' services, one interface: ``charge`` (once per idempotency key), ``lookup`` (what
became of a charge whose answer was lost), ``void`` (give up on a charge not yet made, or learn it was), ``refund``.
Three of them: a local test gateway (Stripe's test card numbers), Stripe PaymentIntents confirmed with a
PaymentMethod made by Stripe.js, and Stripe Checkout (a hosted payment page; the shop never sees a card)."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .models import SandboxCharge, SandboxRefund
from .types import CardDetails, ReturnUrls

# The test gateway's cards, mirroring Stripe's test card numbers (docs/api.md).
TEST_CARDS = {
    "4242424242424242": ("succeeded", "", ""),
    "4000000000000002": ("card_declined", "card_declined", "Your card was declined."),
    "4000000000009995": ("insufficient_funds", "insufficient_funds", "Your card has insufficient funds."),
    "4000000000000119": ("processing_error", "processing_error",
                         "The card could not be processed; please try again."),
}


def luhn_ok(number: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²" or "١", which int() refuses or no card network issues
    if not number.isascii() or not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(number)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


@dataclass(frozen=True)
class GatewayAnswer:
    outcome: str  # succeeded | declined | unknown | redirect
    reference: str = ""  # the provider's id of the charge (a PaymentIntent's pi_…)
    code: str = ""
    message: str = ""
    retryable: bool = False
    session: str = ""  # Stripe Checkout: the hosted page's session (cs_…)
    redirect_url: str = ""
    client_secret: str = ""  # a PaymentIntent that needs the shopper (3-D Secure): for Stripe.js to finish it


# Stripe's amounts are integers in the currency's smallest unit; how many decimals that is, per Stripe's own list
# (https://docs.stripe.com/currencies#zero-decimal): every other currency has two.
ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def currency_exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """12.50 USD → 1250, 1200 JPY → 1200, 1.234 KWD → 1234. Stripe asks three-decimal amounts to end in 0."""
    exponent = currency_exponent(currency)
    minor = int((amount * (10 ** exponent)).to_integral_value())
    return minor - minor % 10 if exponent == 3 else minor


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(int(minor)).scaleb(-currency_exponent(currency))


class TestGateway:
    """Answers at once and for good; remembers each charge by idempotency key, like a real gateway. For `make run`
    and the tests only: in production it takes no money, so it is refused there unless PAYMENTS_TEST_MODE is set."""

    name = "test"
    __test__ = False  # not a pytest test class

    def charge(self, *, amount: Decimal, currency: str, card: CardDetails, idempotency_key: str,
               **_) -> GatewayAnswer:
        outcome = TEST_CARDS.get(card.card_number, ("succeeded",))[0]
        try:  # one INSERT: a transaction of its own (autocommit), or a savepoint inside the caller's one
            with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
                record = SandboxCharge.objects.create(
                    idempotency_key=idempotency_key, reference=f"tg_{secrets.token_hex(10)}", amount=amount,
                    currency=currency, outcome=outcome)
        except IntegrityError:  # the same request again (or a void that came first): the first answer
            record = SandboxCharge.objects.get(idempotency_key=idempotency_key)
        return self._answer(record)

    def lookup(self, *, idempotency_key: str, **_) -> GatewayAnswer:
        """What happened to a charge sent with this key. The test gateway answers in-process and at once, so one it
        has not seen when asked is given up for good (``void``): a charge arriving later with the key is declined
        rather than taking money for an order already settled as unpaid."""
        return self.void(idempotency_key=idempotency_key)

    def void(self, *, idempotency_key: str, **_) -> GatewayAnswer:
        """Give up on the charge with this key: if it never arrived, it never will (the key now answers "declined",
        as a charge that arrives late would find); if it did, its answer."""
        record, _ = SandboxCharge.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={"reference": f"tg_{secrets.token_hex(10)}", "amount": Decimal("0.01"), "currency": "XXX",
                      "outcome": "voided"})
        return self._answer(record)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str, **_) -> str:
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
        if record.outcome == "voided":
            return GatewayAnswer(outcome="declined", code="not_charged", message="No charge was made.")
        _, code, message = next(v for v in TEST_CARDS.values() if v[0] == record.outcome)
        return GatewayAnswer(outcome="declined", reference=record.reference, code=code, message=message,
                             retryable=record.outcome == "processing_error")


class StripeGateway:
    """Stripe PaymentIntents, created and confirmed in one call with Stripe's Idempotency-Key set to ours: a retry
    of the same charge gets Stripe's first answer back, never a second charge. What became of a charge is asked by
    retrieving its PaymentIntent (by id, or found by the key in its metadata), never by creating it again."""

    name = "stripe"
    # How long Stripe's search may lag behind a PaymentIntent just created: a charge not found by then never was.
    SEARCH_LAG = timedelta(minutes=5)

    def __init__(self):
        import stripe

        self.stripe = stripe
        bases = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
        self.client = stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=bases, max_network_retries=0,
                                          http_client=stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_S))

    def charge(self, *, amount: Decimal, currency: str, card: CardDetails, idempotency_key: str,
               **_) -> GatewayAnswer:
        try:
            intent = self.client.v1.payment_intents.create(
                params={"amount": to_minor_units(amount, currency), "currency": currency.lower(),
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
        return self._intent_answer(intent)

    @staticmethod
    def _intent_answer(intent) -> GatewayAnswer:
        if intent.status == "succeeded":
            return GatewayAnswer(outcome="succeeded", reference=intent.id)
        if intent.status in ("requires_payment_method", "canceled"):
            error = getattr(intent, "last_payment_error", None)
            return GatewayAnswer(outcome="declined", reference=intent.id,
                                 code=(error and (getattr(error, "decline_code", None) or error.code)) or
                                 ("canceled" if intent.status == "canceled" else "card_declined"),
                                 message=(error and error.message) or "Your card was declined.")
        # processing, requires_action: Stripe decides (for 3-D Secure, once the shopper's Stripe.js has acted)
        return GatewayAnswer(outcome="unknown", reference=intent.id,
                             client_secret=(intent.client_secret or "") if intent.status == "requires_action" else "")

    def _find_intent(self, *, reference: str, idempotency_key: str):
        if reference:
            return self.client.v1.payment_intents.retrieve(reference)
        found = self.client.v1.payment_intents.search(
            params={"query": f"metadata['idempotency_key']:'{idempotency_key}'", "limit": 1})
        return found.data[0] if found.data else None

    def lookup(self, *, idempotency_key: str, reference: str = "", created_at=None, **_) -> GatewayAnswer:
        intent = self._find_intent(reference=reference, idempotency_key=idempotency_key)
        if intent is not None:
            return self._intent_answer(intent)
        if created_at is not None and timezone.now() - created_at > self.SEARCH_LAG:
            return GatewayAnswer(outcome="declined", code="not_charged", message="No charge was made.")
        return GatewayAnswer(outcome="unknown")

    def void(self, *, idempotency_key: str, reference: str = "", created_at=None, **_) -> GatewayAnswer:
        """Cancel a PaymentIntent still waiting (for 3-D Secure, say); one that succeeded meanwhile says so."""
        answer = self.lookup(idempotency_key=idempotency_key, reference=reference, created_at=created_at)
        if answer.outcome != "unknown" or not answer.reference:
            return answer
        try:
            intent = self.client.v1.payment_intents.cancel(answer.reference,
                                                          options={"idempotency_key": f"{idempotency_key}-void"})
        except self.stripe.InvalidRequestError:  # no longer cancellable: it has just been decided
            intent = self.client.v1.payment_intents.retrieve(answer.reference)
        return self._intent_answer(intent)

    def refund(self, *, reference: str, amount: Decimal, idempotency_key: str, currency: str = "USD") -> str:
        refund = self.client.v1.refunds.create(
            params={"payment_intent": reference, "amount": to_minor_units(amount, currency)},
            options={"idempotency_key": idempotency_key})
        return refund.id


class StripeCheckoutGateway(StripeGateway):
    """Stripe Checkout: the charge is a hosted payment page (a Checkout Session) the shopper is sent to. The money
    moves there; Stripe's webhook or the shopper's return (which retrieves the session) says so, whichever is first.
    A session the shopper abandons is expired when the order's reservation is, so it can no longer be paid."""

    name = "stripe_checkout"
    # Stripe accepts a session expiry from 30 minutes to a day ahead; the shop expires it sooner itself (void).
    SESSION_MINUTES = 30
    # A session whose id was lost has expired at Stripe by then (a payment made on it before arrives by webhook, and
    # one for an order already settled as unpaid is refunded).
    SESSION_LIFETIME_MAX = timedelta(minutes=SESSION_MINUTES + 5)

    def charge(self, *, amount: Decimal, currency: str, card: CardDetails, idempotency_key: str,
               order_reference: str = "", email: str = "", urls: ReturnUrls | None = None, **_) -> GatewayAnswer:
        metadata = {"idempotency_key": idempotency_key, "order_reference": order_reference}
        session = self.client.v1.checkout.sessions.create(
            params={"mode": "payment", "client_reference_id": order_reference, "customer_email": email,
                    "line_items": [{"quantity": 1, "price_data": {
                        "currency": currency.lower(), "unit_amount": to_minor_units(amount, currency),
                        "product_data": {"name": f"{settings.STORE_NAME} order {order_reference}"}}}],
                    "metadata": metadata, "payment_intent_data": {"metadata": metadata},
                    "success_url": urls.success_url, "cancel_url": urls.cancel_url,
                    "expires_at": int((timezone.now() + timedelta(minutes=self.SESSION_MINUTES)).timestamp())},
            options={"idempotency_key": idempotency_key},
        )
        return self._session_answer(session)

    @staticmethod
    def _session_answer(session) -> GatewayAnswer:
        intent = session.payment_intent
        intent_id = (intent if isinstance(intent, str) else getattr(intent, "id", "")) or ""
        if session.status == "complete" and session.payment_status in ("paid", "no_payment_required"):
            return GatewayAnswer(outcome="succeeded", reference=intent_id, session=session.id)
        if session.status == "expired":
            return GatewayAnswer(outcome="declined", reference=intent_id, session=session.id, code="expired",
                                 message="The payment page expired before it was paid.")
        if session.status == "open":
            return GatewayAnswer(outcome="redirect", reference=intent_id, session=session.id,
                                 redirect_url=session.url or "")
        return GatewayAnswer(outcome="unknown", reference=intent_id, session=session.id)  # paid, money on its way

    def lookup(self, *, session: str = "", created_at=None, **_) -> GatewayAnswer:
        if not session:  # its answer was lost: once it has expired at Stripe it can no longer have been paid
            if created_at is not None and timezone.now() - created_at > self.SESSION_LIFETIME_MAX:
                return GatewayAnswer(outcome="declined", code="expired", message="The payment page expired.")
            return GatewayAnswer(outcome="unknown")
        answer = self._session_answer(self.client.v1.checkout.sessions.retrieve(session))
        return GatewayAnswer(**{**answer.__dict__, "outcome": "unknown"}) if answer.outcome == "redirect" else answer

    def void(self, *, idempotency_key: str, session: str = "", created_at=None, **_) -> GatewayAnswer:
        if not session:
            return self.lookup(session=session, created_at=created_at)
        try:
            expired = self.client.v1.checkout.sessions.expire(session,
                                                             options={"idempotency_key": f"{idempotency_key}-void"})
        except self.stripe.InvalidRequestError:  # completed meanwhile: it was paid after all
            expired = self.client.v1.checkout.sessions.retrieve(session)
        return self._session_answer(expired)


def gateway_for(method: str):
    if method == "card":
        return TestGateway()
    if method == "stripe":
        return StripeGateway()
    if method == "stripe_checkout":
        return StripeCheckoutGateway()
    raise ValueError(f"no gateway for {method!r}")
