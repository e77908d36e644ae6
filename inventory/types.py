"""What inventory's services take and return."""

from __future__ import annotations

from dataclasses import dataclass

from store.core.exceptions import ApplicationError, NotFound


@dataclass(frozen=True)
class StockLevels:
    sku: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class UnknownSku(NotFound):
    code = "unknown_sku"

    def __init__(self, sku: str):
        super().__init__(f"No stock is kept for SKU {sku!r}.", extra={"sku": sku})


class StockBelowReserved(ApplicationError):
    code = "stock_below_reserved"
    status = 409

    def __init__(self, sku: str, on_hand: int, reserved: int):
        super().__init__(
            f"{sku}: on hand would be {on_hand}, below the {reserved} units reserved for unpaid orders.",
            extra={"sku": sku, "on_hand": on_hand, "reserved": reserved},
        )
