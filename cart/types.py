"""What the cart's services take and return."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from store.core.exceptions import ApplicationError, InvalidInput, NotFound


@dataclass(frozen=True)
class CartLine:
    sku: str
    name: str
    product_slug: str
    quantity: int
    unit_price: Decimal | None  # None: no longer sold
    line_total: Decimal
    available: int
    price_when_added: Decimal | None = None  # set when the price changed since the shopper last touched the line
    image_url: str = ""  # the product's picture, "" for none

    @property
    def price_changed(self) -> bool:
        return self.price_when_added is not None

    @property
    def purchasable(self) -> bool:
        return self.unit_price is not None and self.quantity <= self.available


@dataclass(frozen=True)
class Cart:
    """A cart as shown: names, prices and totals always read fresh from the catalogue."""

    token: str
    lines: tuple[CartLine, ...]
    subtotal: Decimal
    currency: str
    owner_id: int | None = None
    notices: tuple[str, ...] = field(default_factory=tuple)

    @property
    def line_count(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class CartChange:
    """A changed line, and the whole cart after the change, priced when first asked for (a page that only confirms
    the change does not read every other line's name, price and availability)."""

    line: CartLine | None  # the changed line as it now is; None once removed
    created_line: bool  # the API answers 201 for a new line, 200 for an existing one
    priced: Callable[[], Cart] = field(repr=False, compare=False)

    @functools.cached_property
    def cart(self) -> Cart:
        return self.priced()


@dataclass(frozen=True)
class CartPromo:
    """A promo code the shopper entered on the cart page, as the checkout would apply it to the cart now: what it
    takes off the subtotal, or why it cannot be used (``problem``)."""

    code: str
    discount: Decimal = Decimal("0.00")
    problem: str = ""


@dataclass(frozen=True)
class CartEstimate:
    """What the cart would cost delivered to the signed-in shopper's default address, priced as the checkout
    prices it: the cheapest method, the tax of that address's country or region, and the total."""

    ship_to: str  # "Portland, OR"
    shipping_name: str
    shipping: Decimal
    tax_name: str
    tax: Decimal
    tax_included: bool
    total: Decimal


class CartNotFound(NotFound):
    code = "cart_not_found"

    def __init__(self, token: str = ""):
        super().__init__("No such cart (it may have expired).")


class UnknownSku(NotFound):
    code = "unknown_sku"

    def __init__(self, sku: str):
        super().__init__(f"We don't sell {sku!r}.", extra={"sku": sku})


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"
    status = 409

    def __init__(self, sku: str, available: int, name: str = ""):
        what = name or sku
        message = (f"Sorry, {what} is sold out." if available <= 0
                   else f"Only {available} of {what} available.")
        super().__init__(message, extra={"sku": sku, "available": max(available, 0)})


class CartFull(ApplicationError):
    code = "cart_full"
    status = 409


class CartUnavailable(ApplicationError):
    """Redis, where carts live, cannot be reached: the cart answers 503; the rest of the shop keeps serving."""

    code = "cart_unavailable"
    status = 503

    def __init__(self):
        super().__init__("Your cart is briefly unavailable. Please try again in a moment.")
