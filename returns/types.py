"""What the returns app's services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from store.core.exceptions import ApplicationError, InvalidInput, NotFound

REASONS = ("changed_mind", "damaged", "wrong_item", "not_as_described", "arrived_late", "other")


@dataclass(frozen=True)
class ReturnLineView:
    sku: str
    name: str
    unit_price: Decimal
    quantity: int  # requested
    received: int
    restocked: int


@dataclass(frozen=True)
class ReturnView:
    number: str
    order_number: str
    status: str
    reason: str
    note: str
    staff_note: str
    currency: str
    email: str
    user_id: int | None
    fee: Decimal
    refund_amount: Decimal | None
    created_at: datetime
    lines: tuple[ReturnLineView, ...]
    history: tuple[tuple[str, datetime, str], ...]  # (status, at, note)

    @property
    def open(self) -> bool:
        """Still waiting for the parcel: the shopper may cancel it."""
        return self.status in ("requested", "approved")


@dataclass(frozen=True)
class ReturnRequest:
    """A shopper's return, parsed and checked once (services.return_parse): SKU -> units, a reason, a note."""

    lines: dict[str, int]
    reason: str
    note: str = ""


@dataclass(frozen=True)
class ReturnableLine:
    """A line of an order as the return form offers it: at most ``left`` units (bought, minus returned, minus
    asked for by returns still open)."""

    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    left: int


@dataclass(frozen=True)
class ReturnOptions:
    """What a shopper may return of an order now: the lines, and why the form is closed when it is."""

    order_number: str
    currency: str
    lines: tuple[ReturnableLine, ...]
    closed: str  # "" when a return may be requested, else the reason it may not (for the shopper)
    window_ends: datetime | None
    # Nothing of the order is left to ask for: never paid, cancelled, refunded in full, or every unit back or on a
    # return already. (A closed window is not this: units are left, and the shopper is told why they cannot.)
    nothing_left: bool = False


class ReturnNotFound(NotFound):
    code = "return_not_found"

    def __init__(self):
        super().__init__("No such return.")


class InvalidReturn(InvalidInput):
    """The return's body makes no sense (extra["field"] names the field at fault)."""

    code = "invalid_return"


class ReturnRefused(ApplicationError):
    """The order cannot be returned as asked: not paid, outside the window, more units than are left."""

    code = "return_refused"
    status = 409


class ReturnStepRefused(ApplicationError):
    """The step is not allowed in the return's status (approving a cancelled return, refunding before receipt)."""

    code = "return_step_refused"
    status = 409
