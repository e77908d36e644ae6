"""Inventory's own reads."""

from __future__ import annotations

from django.db import connection
from django.db.models import Sum

from .models import Reservation, StockLevel, StockMovement


def stock_levels_by_sku(*, skus) -> dict[str, StockLevel]:
    return {level.sku: level for level in StockLevel.objects.filter(sku__in=list(skus))}


def availability_by_sku(*, skus: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(_AVAILABILITY_SQL, [skus])
        return dict(cursor.fetchall())


_AVAILABILITY_SQL = f"""
    SELECT sku, on_hand - reserved FROM {StockLevel._meta.db_table} WHERE sku = ANY(%s)
"""  # noqa: S608 (the table name is our model's; the SKUs are a bound parameter)


def ledger_sums() -> dict[str, tuple[int, int]]:
    rows = StockMovement.objects.values("sku").annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"))
    return {row["sku"]: (row["on_hand"] or 0, row["reserved"] or 0) for row in rows.order_by()}


def active_reserved_sums() -> dict[str, int]:
    rows = (Reservation.objects.filter(state=Reservation.State.ACTIVE).values("sku")
            .annotate(held=Sum("quantity")).order_by())
    return {row["sku"]: row["held"] for row in rows}
