"""Inventory's public interface: stock levels, receipts and adjustments, availability for many SKUs at once.

Every change locks the stock row (SELECT ... FOR UPDATE), writes one ledger row with the deltas, and announces
``stock.changed`` after commit so that higher apps (the catalogue's cache) can refresh what they derived.
Reservations and their expiry arrive with the inventory issue; the ledger already has their kinds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction

from store.core import events
from store.core.exceptions import InvalidInput

from . import selectors
from .models import StockLevel, StockMovement
from .types import StockBelowReserved, StockLevels, UnknownSku

STOCK_CHANGED = "stock.changed"


def _as_levels(level: StockLevel) -> StockLevels:
    return StockLevels(sku=level.sku, on_hand=level.on_hand, reserved=level.reserved)


def stock_levels_ensure(*, initial_on_hand: Mapping[str, int], reason: str = "initial stock") -> list[str]:
    """Create the stock rows of SKUs that have none yet (idempotent: existing rows are left as they are).

    ``initial_on_hand`` maps each SKU to the units it starts with (0 for a new variant); a start above 0 is a
    receipt in the ledger, so levels always equal ledger sums. Returns the SKUs created."""
    wanted = dict(sorted(initial_on_hand.items()))
    if any(q < 0 for q in wanted.values()):
        raise InvalidInput("Initial stock cannot be negative.")
    if not wanted:
        return []
    with transaction.atomic():
        existing = set(StockLevel.objects.filter(sku__in=list(wanted)).values_list("sku", flat=True))
        created = StockLevel.objects.bulk_create(
            [StockLevel(sku=sku, on_hand=q) for sku, q in wanted.items() if sku not in existing],
            ignore_conflicts=True,
        )
        missing = [level.sku for level in created]
        StockMovement.objects.bulk_create(
            StockMovement(sku=sku, kind=StockMovement.Kind.RECEIPT, on_hand_delta=wanted[sku], reason=reason)
            for sku in missing if wanted[sku]
        )
        if missing:
            events.publish(STOCK_CHANGED, skus=missing)
    return missing


def _locked(sku: str) -> StockLevel:
    try:
        return StockLevel.objects.select_for_update().get(sku=sku)
    except StockLevel.DoesNotExist:
        raise UnknownSku(sku) from None


@transaction.atomic
def stock_adjust(*, sku: str, delta: int, reason: str = "", user_id: int | None = None,
                 kind: str = StockMovement.Kind.ADJUSTMENT) -> StockLevels:
    """Change on_hand by ``delta`` (a receipt when positive, a write-off when negative).

    Refused, with the levels unchanged, when on_hand would fall below what is reserved."""
    level = _locked(sku)
    new_on_hand = level.on_hand + delta
    if new_on_hand < level.reserved:
        raise StockBelowReserved(sku, new_on_hand, level.reserved)
    if delta:
        level.on_hand = new_on_hand
        level.save(update_fields=["on_hand", "updated_at"])
        StockMovement.objects.create(sku=sku, kind=kind, on_hand_delta=delta, reason=reason, user_id=user_id)
        events.publish(STOCK_CHANGED, skus=[sku])
    return _as_levels(level)


def stock_receive(*, sku: str, quantity: int, reason: str = "", user_id: int | None = None) -> StockLevels:
    return stock_adjust(sku=sku, delta=quantity, reason=reason, user_id=user_id,
                        kind=StockMovement.Kind.RECEIPT if quantity > 0 else StockMovement.Kind.ADJUSTMENT)


@transaction.atomic
def stock_set(*, sku: str, on_hand: int, reason: str = "", user_id: int | None = None) -> StockLevels:
    """Set on_hand to a counted figure, through an adjustment of the difference."""
    level = _locked(sku)
    return stock_adjust(sku=sku, delta=on_hand - level.on_hand, reason=reason, user_id=user_id)


def stock_levels(*, sku: str) -> StockLevels:
    level = selectors.stock_levels_by_sku(skus=[sku]).get(sku)
    if level is None:
        raise UnknownSku(sku)
    return _as_levels(level)


def stock_availability(*, skus: Iterable[str]) -> dict[str, int]:
    """Units a shopper could buy now, per SKU, in one query; a SKU with no stock row has 0."""
    skus = list(skus)
    levels = selectors.stock_levels_by_sku(skus=skus)
    return {sku: (levels[sku].available if sku in levels else 0) for sku in skus}


def stock_invariant_violations() -> list[str]:
    """Every way the stock data breaks its rules, as readable lines (empty when all holds)."""
    problems = []
    sums = selectors.ledger_sums()
    for level in StockLevel.objects.all().iterator():
        on_hand, reserved = sums.get(level.sku, (0, 0))
        if (level.on_hand, level.reserved) != (on_hand, reserved):
            problems.append(f"{level.sku}: level on_hand={level.on_hand} reserved={level.reserved} but the ledger "
                            f"sums to on_hand={on_hand} reserved={reserved}")
        if not 0 <= level.reserved <= level.on_hand:
            problems.append(f"{level.sku}: reserved={level.reserved} outside 0..on_hand={level.on_hand}")
    known = set(StockLevel.objects.values_list("sku", flat=True))
    problems.extend(f"{sku}: ledger rows for a SKU with no stock level" for sku in sums.keys() - known)
    return problems
