"""What the orders app's services take and return."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from payments.types import CardDetails
from store.core.exceptions import ApplicationError, InvalidInput, NotFound


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""  # state, province… (its code where the country has codes, e.g. OR)
    phone: str = ""


@dataclass(frozen=True)
class CheckoutInput:
    """A checkout, parsed and checked once (orders.checkout.checkout_parse)."""

    cart_token: str
    email: str
    address: Address
    payment: CardDetails
    expected_total: Decimal | None = None
    shipping_method: str = ""  # a method's code; "" = the cheapest that delivers to the address
    promo_code: str = ""  # in capitals; "" = none


@dataclass(frozen=True)
class CheckoutQuote:
    """What a checkout would cost now (the page's summary, and the total it expects): the cart's lines priced, the
    methods that deliver to the address, the one chosen (the cheapest unless named), the discount of the code if it
    can be used (else ``promo_problem`` says why) and the tax."""

    lines: tuple[OrderLineView, ...]
    subtotal: Decimal
    discount: Decimal
    shipping: Decimal
    shipping_method: str
    shipping_name: str
    methods: tuple  # shipping.types.ShippingQuote, cheapest first
    tax: Decimal
    tax_name: str
    tax_included: bool
    total: Decimal
    currency: str
    promo_code: str = ""
    promo_problem: str = ""
    shipping_problem: str = ""


@dataclass(frozen=True)
class CheckoutAnswer:
    """The HTTP answer of a checkout (status and JSON body): what the same Idempotency-Key always gets again."""

    status: int
    body: dict
    retry_after: int | None = None  # seconds, for a refusal that may pass later (409 in progress, 429, 503)


@dataclass(frozen=True)
class OrderLineView:
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal
    discount: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")


@dataclass(frozen=True)
class OrderRefundView:
    """Money given back on an order: how much, and when it was recorded."""

    amount: Decimal
    at: datetime


@dataclass(frozen=True)
class OrderView:
    number: str
    status: str
    email: str
    currency: str
    subtotal: Decimal
    shipping: Decimal
    total: Decimal
    shipping_address: dict
    lines: tuple[OrderLineView, ...]
    history: tuple[tuple[str, datetime], ...]
    created_at: datetime
    user_id: int | None = None
    discount: Decimal = Decimal("0.00")
    tax: Decimal = Decimal("0.00")
    tax_included: bool = False
    tax_name: str = "Tax"
    shipping_method: str = ""
    shipping_method_name: str = ""
    promo_code: str = ""
    # Refunds made through the shop, oldest first. A refund made on the payment provider's own dashboard is known
    # only from its webhook, as a status in the history, with no amount of the order's own (refunded_at has it).
    refunds: tuple[OrderRefundView, ...] = ()

    @property
    def refunded(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0.00"))

    @property
    def refunded_at(self) -> datetime | None:
        """When the order was last refunded (partly or in full), by its history."""
        return next((at for status, at in reversed(self.history) if status in ("partially_refunded", "refunded")),
                    None)

    @property
    def shipped_at(self) -> datetime | None:
        return next((at for status, at in self.history if status == "fulfilled"), None)


@dataclass(frozen=True)
class ReturnableLine:
    """An order line as a return sees it: what was bought, at what price, and how many units have come back
    (restocked or written off, by refunds with restock and by returns received)."""

    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    returned: int

    @property
    def left(self) -> int:
        return self.quantity - self.returned


@dataclass(frozen=True)
class ReturnableOrder:
    """What a return needs of an order: who may see it, its status, when it was paid and shipped (the return
    window runs from the later of them), and its lines with what is left to return."""

    number: str
    status: str
    email: str
    currency: str
    user_id: int | None
    paid_at: datetime | None
    shipped_at: datetime | None
    lines: tuple[ReturnableLine, ...]


@dataclass(frozen=True)
class UnitsReturned:
    """What order_units_returned counted, per SKU: units put back on the shelf, units written off, and units named
    that the order no longer had to return (a refund with restock had already put them back)."""

    restocked: dict[str, int]
    written_off: dict[str, int]
    short: dict[str, int]
    paid: dict[str, Decimal] = field(default_factory=dict)  # what the shopper paid for the units counted now


class IdempotencyKeyRequired(InvalidInput):
    code = "idempotency_key_required"


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


class IdempotencyInProgress(ApplicationError):
    code = "idempotency_in_progress"
    status = 409
    retry_after = 1


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self):
        super().__init__("No such order.")


class TicketNotFound(NotFound):
    code = "ticket_not_found"

    def __init__(self):
        super().__init__("No such checkout in line (its answer is kept for a while, then forgotten).")


class TransitionRefused(ApplicationError):
    code = "transition_refused"
    status = 409


class RestockInvalid(InvalidInput):
    """A refund named units to put back that make no sense for the order: a SKU it does not hold, or a quantity
    that is not a whole number of at least one."""

    code = "restock_invalid"


class RestockRefused(ApplicationError):
    """A refund named more units of a line to put back than were sold and not yet returned."""

    code = "restock_refused"
    status = 409


@dataclass(frozen=True)
class PlacedOrder:
    """What a checkout made: the order (paid, or still waiting for its payment), its secret link's token, and where
    the shopper must go to pay when the payment happens on the provider's page."""

    order: OrderView
    access_token: str
    redirect_url: str = ""
    client_secret: str = ""  # Stripe.js must finish the payment first (3-D Secure)


class CartEmpty(InvalidInput):
    code = "cart_empty"


class ItemUnavailable(ApplicationError):
    code = "item_unavailable"
    status = 409


class PromoCodeUnavailable(ApplicationError):
    """A code that cannot be used on this order: unknown, not started, expired, used up (overall or by this
    shopper), or the order is below its minimum. Nothing was reserved or charged."""

    code = "promo_code_unavailable"
    status = 409


@dataclass(frozen=True)
class PromoCodeInfo:
    """A promo code as staff and scripts see it."""

    code: str
    kind: str
    value: Decimal
    uses: int
    max_uses: int | None
    max_uses_per_customer: int | None
    min_subtotal: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    is_active: bool


class PriceChanged(ApplicationError):
    code = "price_changed"
    status = 409


class PaymentDeclined(ApplicationError):
    """The payment was refused for good: the order is cancelled and its stock released."""

    code = "payment_declined"
    status = 402


class OrderCancelled(ApplicationError):
    """The order was cancelled while its payment was being taken: the money was given back."""

    code = "order_cancelled"
    status = 409
