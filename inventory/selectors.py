"""Inventory's own reads."""

from __future__ import annotations

from django.db.models import Sum

from .models import Reservation, StockLevel, StockMovement


def stock_levels_by_sku(*, skus) -> dict[str, StockLevel]:
    return {level.sku: level for level in StockLevel.objects.filter(sku__in=list(skus))}


def ledger_sums() -> dict[str, tuple[int, int]]:
    rows = StockMovement.objects.values("sku").annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    return {row["sku"]: (row["on_hand"] or 0, row["reserved"] or 0) for row in rows.order_by()}


def active_reserved_sums() -> dict[str, int]:
    rows = (Reservation.objects.filter(state=Reservation.State.ACTIVE).values("sku")
            .annotate(held=Sum("quantity")).order_by())
    return {row["sku"]: row["held"] for row in rows}
