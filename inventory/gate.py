"""The flash-sale admission gate: a Redis counter of tokens per hot SKU, loaded from its available stock.

A checkout takes tokens for its gated lines before it touches PostgreSQL; one that cannot is told "sold out" at
once. A released reservation gives its tokens back. PostgreSQL's row locks stay the source of truth: the gate may
refuse too early for a moment (tokens in flight), it can never admit an oversell, because the reservation still
has to fit in the database. If Redis loses the counters (a restart), they are rebuilt from inventory's available
stock the next time they are needed.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone
from django_redis import get_redis_connection

from .models import FlashSale, StockLevel

BUILT = "gate:built"  # present while the counters in Redis reflect the active sales

# KEYS: the gate counters of the gated SKUs; ARGV: the quantities. All or none: returns 0 when admitted, else the
# 1-based index of the first SKU without enough tokens (nothing taken).
_TAKE = """
for i, key in ipairs(KEYS) do
  local tokens = tonumber(redis.call('GET', key) or '0')
  if tokens < tonumber(ARGV[i]) then return i end
end
for i, key in ipairs(KEYS) do redis.call('DECRBY', key, ARGV[i]) end
return 0
"""


def _redis():
    return get_redis_connection("default")


def _key(sku: str) -> str:
    return f"gate:{sku}"


def rebuild() -> dict[str, int]:
    """Load every active sale's counter from available stock (after a start, a stop, or a lost Redis)."""
    sales = list(FlashSale.objects.filter(active=True).values_list("sku", flat=True))
    levels = {level.sku: level.available for level in StockLevel.objects.filter(sku__in=sales)}
    redis = _redis()
    pipe = redis.pipeline()
    for key in redis.scan_iter("gate:*"):
        if key != BUILT.encode():
            pipe.delete(key)
    for sku in sales:
        pipe.set(_key(sku), max(levels.get(sku, 0), 0))
    pipe.set(BUILT, "1")
    pipe.execute()
    return {sku: max(levels.get(sku, 0), 0) for sku in sales}


def _gated(skus) -> dict[str, FlashSale]:
    if not _redis().exists(BUILT):
        rebuild()
    return {sale.sku: sale for sale in FlashSale.objects.filter(active=True, sku__in=list(skus))}


def admit(lines: Mapping[str, int]) -> tuple[dict[str, int], tuple[str, int] | None, str | None]:
    """Take tokens for the gated lines. Returns (tokens taken, refusal (sku, tokens left) or None, sku of a sale
    that has not started yet or None)."""
    sales = _gated(lines)
    if not sales:
        return {}, None, None
    now = timezone.now()
    for sku, sale in sales.items():
        if sale.starts_at > now:
            return {}, None, sku
    gated = sorted(sales)
    refused = _redis().register_script(_TAKE)(keys=[_key(s) for s in gated], args=[lines[s] for s in gated])
    if refused:
        sku = gated[refused - 1]
        left = int(_redis().get(_key(sku)) or 0)
        return {}, (sku, max(left, 0)), None
    return {sku: lines[sku] for sku in gated}, None, None


def give_back(lines: Mapping[str, int]) -> None:
    """Return tokens (a refused or released reservation, a delivery; negative for a write-off); only to counters
    that exist."""
    redis = _redis()
    for sku, quantity in lines.items():
        if quantity and redis.exists(_key(sku)):
            redis.incrby(_key(sku), quantity)


def tokens(sku: str) -> int | None:
    value = _redis().get(_key(sku))
    return int(value) if value is not None else None
