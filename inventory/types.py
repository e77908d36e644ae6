"""What inventory's services take and return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from store.core.exceptions import ApplicationError, InvalidInput, NotFound


@dataclass(frozen=True)
class StockLevels:
    sku: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class ReservationLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class ReservationResult:
    """What a reserve, commit or release did for a reference: its state now, and whether this call changed it
    (False when it was already so: the operation is idempotent)."""

    reference: str
    state: str  # active | committed | released
    lines: tuple[ReservationLine, ...]
    changed: bool
    expires_at: datetime | None = None


class UnknownSku(NotFound):
    code = "unknown_sku"

    def __init__(self, sku: str):
        super().__init__(f"No stock is kept for SKU {sku!r}.", extra={"sku": sku})


class InsufficientStock(ApplicationError):
    code = "insufficient_stock"
    status = 409

    def __init__(self, sku: str, available: int, requested: int):
        super().__init__(f"Only {max(available, 0)} of {sku} available; {requested} requested.",
                         extra={"sku": sku, "available": max(available, 0), "requested": requested})


class StockBelowReserved(ApplicationError):
    code = "stock_below_reserved"
    status = 409

    def __init__(self, sku: str, on_hand: int, reserved: int):
        shown = f"{on_hand}".replace("-", "\N{MINUS SIGN}")
        why = ("there are not that many units to take away" if on_hand < 0 else
               f"fewer than the {reserved} unit{'s' if reserved != 1 else ''} held for unpaid orders")
        super().__init__(f"{sku}: that would leave {shown} on hand, {why}.",
                         extra={"sku": sku, "on_hand": on_hand, "reserved": reserved})


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class UnknownReservation(NotFound):
    code = "unknown_reservation"

    def __init__(self, reference: str):
        super().__init__(f"Nothing is reserved for {reference!r}.", extra={"reference": reference})


class ReservationConflict(ApplicationError):
    """The reference already holds a different reservation, or one that has ended."""

    code = "reservation_conflict"
    status = 409


class ReservationReleased(ApplicationError):
    """Commit asked for a reference whose units were already released (e.g. it expired): the caller must not ship."""

    code = "reservation_released"
    status = 409

    def __init__(self, reference: str):
        super().__init__(f"The reservation {reference!r} was released; its units are no longer held.",
                         extra={"reference": reference})


class SaleNotStarted(ApplicationError):
    code = "sale_not_started"
    status = 409
