"""The flash-sale admission gate: a Redis counter of tokens per hot SKU, loaded from its available stock.

A checkout takes tokens for its gated lines before it touches PostgreSQL; one that cannot is told "sold out" at
once. A released reservation gives its tokens back. PostgreSQL's row locks stay the source of truth: the gate may
refuse too early for a moment (tokens in flight), it can never admit an oversell, because the reservation still
has to fit in the database. If Redis loses the counters (a restart), they are rebuilt from inventory's available
stock the next time they are needed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from django_redis import get_redis_connection

from .models import FlashSale, StockLevel

# Every key of the gate carries the hash tag {gate}: admission takes the tokens of all of a checkout's SKUs in one
# script, and a rebuild replaces them all in one transaction, which a Redis Cluster allows only on keys of one hash
# slot. So all gates live on one node of a cluster: a few small counters, read and written once per checkout.
# Outside the counters' namespace ("{gate}:sku:<sku>"), so that no SKU can be mistaken for them. A counter missing
# while its sale is listed was lost (an eviction), not emptied: admission rebuilds the gate then, as when all is lost.
TAG = "{gate}"
SALES = f"{TAG}:sales"  # hash: SKU on sale -> its start (Unix seconds, fractional), while the counters are built
BUILT = f"{TAG}:built"  # present while the counters in Redis reflect the active sales (SALES may be empty)

# KEYS: BUILT, SALES, then one gate counter per line; ARGV: now (Unix seconds, fractional), then each line's SKU
# and quantity. One round trip answers the whole admission, without PostgreSQL: {-1} if the gate must be rebuilt
# first, {-2, i} if the sale of line i has not started, {-3, i, tokens left} if line i cannot have its tokens
# (nothing taken), else {0, i, j, ...}: the lines whose tokens were taken (all gated lines, all or none).
_ADMIT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local now = tonumber(ARGV[1])
local gated = {}
for i = 3, #KEYS do
  local line = i - 2
  local starts = redis.call('HGET', KEYS[2], ARGV[2 * line])
  if starts then
    if tonumber(starts) > now then return {-2, line} end
    local counter = redis.call('GET', KEYS[i])
    if not counter then return {-1} end  -- a sale without its counter: lost (evicted), not empty; rebuild
    local tokens = tonumber(counter)
    if tokens < tonumber(ARGV[2 * line + 1]) then return {-3, line, tokens} end
    gated[#gated + 1] = i
  end
end
local taken = {0}
for _, i in ipairs(gated) do
  redis.call('DECRBY', KEYS[i], ARGV[2 * (i - 2) + 1])
  taken[#taken + 1] = i - 2
end
return taken
"""

# KEYS: gate counters; ARGV: quantities to add back. Only to counters that exist (a stopped sale has none), and
# in one step with that check, so a rebuild in between cannot be undone.
_GIVE_BACK = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('INCRBY', key, ARGV[i]) end
end
return 0
"""


class Admission:
    """What the gate said: the tokens taken, or the SKU refused (with the tokens it had left), or the SKU whose
    sale has not started."""

    def __init__(self, taken=None, refused=None, not_started=None):
        self.taken: dict[str, int] = taken or {}
        self.refused: tuple[str, int] | None = refused
        self.not_started: str | None = not_started


def _redis():
    return get_redis_connection("default")


def _key(sku: str) -> str:
    return f"{TAG}:sku:{sku}"


def rebuild() -> dict[str, int]:
    """Load every active sale's counter from available stock (after a start, a stop, or a lost Redis)."""
    sales = dict(FlashSale.objects.filter(active=True).values_list("sku", "starts_at"))
    levels = {level.sku: level.available for level in StockLevel.objects.filter(sku__in=list(sales))}
    redis = _redis()
    stale = list(redis.scan_iter(f"{TAG}:sku:*"))
    pipe = redis.pipeline(transaction=True)
    pipe.delete(SALES, *stale)
    for sku, starts_at in sales.items():
        pipe.set(_key(sku), max(levels.get(sku, 0), 0))
        pipe.hset(SALES, sku, repr(starts_at.timestamp()))
    pipe.set(BUILT, "1")
    pipe.execute()
    return {sku: max(levels.get(sku, 0), 0) for sku in sales}


def admit(lines: Mapping[str, int]) -> Admission:
    """Take tokens for the gated lines, all or none, in one Redis script (PostgreSQL is asked only to rebuild a
    lost gate)."""
    skus = sorted(lines)
    if not skus:
        return Admission()
    script = _redis().register_script(_ADMIT)
    keys = [BUILT, SALES, *(_key(sku) for sku in skus)]
    args = [repr(time.time())]
    for sku in skus:
        args += [sku, int(lines[sku])]
    answer = script(keys=keys, args=args)
    if answer[0] == -1:  # Redis lost the gate (a restart): rebuild it from inventory, once
        rebuild()
        answer = script(keys=keys, args=args)
    if answer[0] == -2:
        return Admission(not_started=skus[answer[1] - 1])
    if answer[0] == -3:
        return Admission(refused=(skus[answer[1] - 1], max(int(answer[2]), 0)))
    return Admission(taken={skus[i - 1]: int(lines[skus[i - 1]]) for i in answer[1:]})


def give_back(lines: Mapping[str, int]) -> None:
    """Return tokens (a refused or released reservation, a delivery; negative for a write-off); only to counters
    that exist."""
    lines = {sku: quantity for sku, quantity in lines.items() if quantity}
    if lines:
        _redis().register_script(_GIVE_BACK)(keys=[_key(sku) for sku in lines], args=list(lines.values()))


def tokens(sku: str) -> int | None:
    value = _redis().get(_key(sku))
    return int(value) if value is not None else None
