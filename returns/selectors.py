"""The returns app's own reads."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from .models import Return, ReturnLine

OPEN = (Return.Status.REQUESTED, Return.Status.APPROVED)


def units_asked_for(*, order_number: str) -> dict[str, int]:
    """Units per SKU that returns still waiting for their parcel have asked for (the received ones are counted by
    the order's lines themselves)."""
    rows = (ReturnLine.objects.filter(ret__order_number=order_number, ret__status__in=OPEN)
            .values("sku").annotate(units=Sum("quantity")))
    return {row["sku"]: row["units"] for row in rows}


def returns_with_lines() -> QuerySet[Return]:
    return Return.objects.prefetch_related("lines", "events")
