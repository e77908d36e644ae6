"""What the shipping app's services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from store.core.exceptions import ApplicationError


@dataclass(frozen=True)
class ShippingQuote:
    """A method as a shopper picks it: what it costs for this cart to this country."""

    code: str
    name: str
    price: Decimal
    estimate: str = ""


@dataclass(frozen=True)
class TaxQuote:
    """The tax of an order: per line (in the order the amounts were given) and on shipping, each rounded half up to
    the cent, and their sum. ``included``: the prices already hold it (it is shown, not added to the total)."""

    name: str
    rate: Decimal  # percent
    included: bool
    lines: tuple[Decimal, ...]
    shipping: Decimal

    @property
    def total(self) -> Decimal:
        return sum(self.lines, Decimal("0.00")) + self.shipping

    @property
    def added(self) -> Decimal:
        """What the tax adds to the order's total (nothing when the prices include it)."""
        return Decimal("0.00") if self.included else self.total


class ShippingUnavailable(ApplicationError):
    """The method named does not deliver to the address (or there is no such method)."""

    code = "shipping_method_unavailable"
    status = 409


@dataclass(frozen=True)
class SavedAddressView:
    id: int
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str
    is_default: bool

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("name", "line1", "line2", "city", "region", "postal_code", "country",
                                              "phone")}


class SavedAddressNotFound(ApplicationError):
    code = "address_not_found"
    status = 404
