"""The cart's public interface. Carts live in Redis only (no tables):

    cart:t:<token>       hash: owner (user id or empty), created, and a field l:<sku> per line holding
                         "<quantity>:<the price the shopper saw when they last changed the line>" (display only)
    cart:user:<id>       the token of a signed-in shopper's cart
    cart:sku:<sku>       the cart's copy of what it checks and shows of a SKU (name, price, visibility, units
                         available), stamped with the versions catalog and inventory bump on every change to them

Every write is one Lua script, so concurrent clicks never lose an update; every touch refreshes the expiry
(7 days for guests, 30 for signed-in shoppers). A cart never stores a price it will charge: names, prices and
totals are read from the catalogue each time a cart is shown, and availability from inventory — through the copy,
which a script uses only while its versions are current (store.core.cache's rule), so adding to a cart or showing
it is one round trip to Redis, and a change is never missed: a stale copy is rebuilt from the services first.
"""

from __future__ import annotations

import functools
import secrets
from decimal import Decimal

from django.conf import settings
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from catalog import services as catalog_services
from catalog.types import VariantInfo
from inventory import services as inventory_services
from store.core import cache as cache_versions

from .types import (
    Cart,
    CartChange,
    CartFull,
    CartLine,
    CartNotFound,
    CartUnavailable,
    InsufficientStock,
    InvalidQuantity,
    UnknownSku,
)

SESSION_KEY = "cart_token"  # where the pages keep a shopper's cart token in their session
MAX_QUANTITY = 99
MAX_LINES = 100
GUEST_TTL = 7 * 24 * 3600
OWNED_TTL = 30 * 24 * 3600

# The cart's copy of a SKU (see the module docstring), if its versions are current. ARGV[n], ARGV[n + 1] and
# ARGV[n + 2] are the key prefixes of the copies, of the catalogue's versions and of inventory's versions.
_COPY = """
local function copy(sku, n)
  local c = redis.call('HMGET', ARGV[n] .. sku, 'gc', 'gs', 'pn', 'vn', 'slug', 'price', 'cur', 'active', 'avail')
  if not c[1] then return nil end
  local v = redis.call('MGET', ARGV[n + 1] .. sku, ARGV[n + 2] .. sku)
  if c[1] ~= (v[1] or '0') or c[2] ~= (v[2] or '0') then return nil end
  return c
end
local function copies(lines, n, known_sku, known)
  local found = {}
  for i = 1, #lines, 2 do
    if lines[i] == known_sku then found[#found + 1] = known else found[#found + 1] = copy(lines[i], n) or 0 end
  end
  return found
end
"""
# A cart's hash, read whole: its owner (nil for no cart), its lines as a flat {sku, "quantity:price", ...} list
# leaving out ``sku``'s line, and that line's value (nil if it has none).
_PARSE = """
local function parse(all, sku)
  local owner, lines, mine = nil, {}, nil
  for i = 1, #all, 2 do
    local field = all[i]
    if field == 'owner' then
      owner = all[i + 1]
    elseif string.sub(field, 1, 2) == 'l:' then
      local s = string.sub(field, 3)
      if s == sku then mine = all[i + 1] else lines[#lines + 1] = s; lines[#lines + 1] = all[i + 1] end
    end
  end
  return owner, lines, mine
end
local function quantity(value) return value and tonumber(string.match(value, '^%d+')) or 0 end
"""
# KEYS: the cart. ARGV: sku, quantity, mode (add|set), max per line, max lines, guest ttl, owned ttl, user id ('' for
# a guest), the three prefixes of _COPY, then the units available and the price, or '' to take them (and the SKU's
# visibility) from the cart's copy: one round trip. A cart owned by someone else is treated as missing. Returns
# {new quantity, previous quantity, owner, lines, copies of the lines (0 where stale)}; new is a negative code on
# refusal: -1 no such cart, -2 over the per-line maximum, -3 over what is available (then also the units available
# and the product's name), -4 too many lines, -5 a SKU not sold, -9 the copy is missing or stale (the caller
# rebuilds it and tries again).
_WRITE_LINE = _COPY + _PARSE + """
local owner, lines, mine = parse(redis.call('HGETALL', KEYS[1]), ARGV[1])
if not owner or (owner ~= '' and owner ~= ARGV[8]) then return {-1, 0} end
local c, known_sku = nil, false
if ARGV[12] ~= '' then
  c = {false, false, false, false, false, ARGV[13], false, '1', ARGV[12]}  -- given by the caller
else
  c, known_sku = copy(ARGV[1], 9), ARGV[1]
  if not c then return {-9, 0} end
end
local new = tonumber(ARGV[2])
if new > 0 and c[8] ~= '1' then return {-5, 0} end
local current = quantity(mine)
if ARGV[3] == 'add' then new = current + new end
if new > tonumber(ARGV[4]) then return {-2, current} end
if new > current and new > tonumber(c[9]) then return {-3, current, c[9], c[3] or ''} end
if current == 0 and new > 0 and #lines / 2 >= tonumber(ARGV[5]) then return {-4, current} end
if new <= 0 then
  redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1])
else
  local line = string.format('%d:%s', new, c[6])
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], line)
  lines[#lines + 1] = ARGV[1]
  lines[#lines + 1] = line
end
redis.call('EXPIRE', KEYS[1], owner ~= '' and ARGV[7] or ARGV[6])
return {new, current, owner, lines, copies(lines, 9, known_sku, c)}
"""
# KEYS: the cart. ARGV: guest ttl, owned ttl, user id, then the three prefixes of _COPY. Reads a cart and refreshes
# its expiry, in one round trip. Returns {0} for a missing cart or one owned by someone else, else {1, owner,
# lines, copies of the lines (0 where stale)}.
_READ = _COPY + _PARSE + """
local owner, lines = parse(redis.call('HGETALL', KEYS[1]), false)
if not owner or (owner ~= '' and owner ~= ARGV[3]) then return {0} end
redis.call('EXPIRE', KEYS[1], owner ~= '' and ARGV[2] or ARGV[1])
return {1, owner, lines, copies(lines, 4, false, 0)}
"""
# KEYS: the target cart, then the source cart. ARGV: the target's ttl, then (sku, cap, price) triples. Adds every
# source line to the target, each capped; returns the quantities added, in order. Then deletes the source cart.
_MERGE = _PARSE + """
local _, lines = parse(redis.call('HGETALL', KEYS[1]), false)
local count, added = #lines / 2, {}
for i = 2, #ARGV, 3 do
  local field, cap, price = 'l:' .. ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  local want = quantity(redis.call('HGET', KEYS[2], field))
  local have = quantity(redis.call('HGET', KEYS[1], field))
  local new = math.min(have + want, cap)
  if new > have and (have > 0 or count < MAX_LINES) then
    if have == 0 then count = count + 1 end
    redis.call('HSET', KEYS[1], field, string.format('%d:%s', new, price))
    table.insert(added, new - have)
  else
    table.insert(added, 0)
  end
end
redis.call('DEL', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return added
""".replace("MAX_LINES", str(MAX_LINES))
# KEYS: the cart. Deletes its lines, keeping the cart (its owner and expiry).
_CLEAR = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'l:' then redis.call('HDEL', KEYS[1], all[i]) end
end
"""


COPY_TTL = 3600  # a copy nobody uses lapses; a used one is checked against its versions every time anyway
_COPY_KEY = "cart:sku:"


def _redis():
    return get_redis_connection("default")


@functools.cache
def _copy_args() -> tuple[str, str, str]:
    """The key prefixes a script needs to find a SKU's copy and the two versions it was made at."""
    return (_COPY_KEY, cache_versions.redis_version_key(catalog_services.variant_scope("")),
            cache_versions.redis_version_key(inventory_services.availability_scope("")))


def _project(skus) -> tuple[dict[str, VariantInfo], dict[str, int]]:
    """Read these SKUs from catalog and inventory and keep a copy of each for the scripts, stamped with the
    versions read *before* the data (so a copy made from data a change has since replaced is already stale)."""
    skus = list(dict.fromkeys(skus))
    if not skus:
        return {}, {}
    redis = _redis()
    _, catalog_prefix, stock_prefix = _copy_args()
    versions = redis.mget([catalog_prefix + sku for sku in skus] + [stock_prefix + sku for sku in skus])
    info = catalog_services.variant_prices(skus=skus)
    available = inventory_services.stock_availability(skus=skus)
    pipe = redis.pipeline(transaction=False)
    for n, sku in enumerate(skus):
        variant = info.get(sku)
        if variant is None:
            continue
        pipe.hset(_COPY_KEY + sku, mapping={
            "gc": versions[n] or b"0", "gs": versions[len(skus) + n] or b"0", "pn": variant.product_name,
            "vn": variant.variant_name, "slug": variant.product_slug, "price": str(variant.price),
            "cur": variant.currency, "active": "1" if variant.is_active else "0", "avail": available.get(sku, 0)})
        pipe.expire(_COPY_KEY + sku, COPY_TTL)
    pipe.execute()
    return info, available


def _from_copies(raw_lines: list[bytes], raw_copies: list) -> tuple[dict[str, VariantInfo], dict[str, int]]:
    """The fresh copies a script returned beside the lines: (variant info, availability) by SKU."""
    info, available = {}, {}
    for n, copy in enumerate(raw_copies):
        if not copy:
            continue
        sku = raw_lines[2 * n].decode()
        _, _, product, variant, slug, price, currency, active, units = (v.decode() for v in copy)
        info[sku] = VariantInfo(sku=sku, product_slug=slug, product_name=product, variant_name=variant,
                                price=Decimal(price), currency=currency, is_active=active == "1")
        available[sku] = int(units)
    return info, available


_scripts: dict[tuple[int, int], object] = {}


def _script(source: str):
    """A registered Lua script (EVALSHA, loading it on first use), for the current Redis client."""
    client = _redis()
    key = (id(client), id(source))  # the sources are this module's constants
    if key not in _scripts:
        _scripts[key] = client.register_script(source)
    return _scripts[key]


_META = ("owner", "created")  # a cart hash's fields besides its lines (l:<sku>)


def _key(token: str) -> str:
    return f"cart:t:{token}"


def _ttl(owner_id: int | None) -> int:
    return OWNED_TTL if owner_id else GUEST_TTL


def _quantity(value, *, allow_zero: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")
    if value < (0 if allow_zero else 1) or value > MAX_QUANTITY:
        raise InvalidQuantity(f"Quantity must be a whole number from {0 if allow_zero else 1} to {MAX_QUANTITY}.")
    return value


def _guard(fn):
    """Redis errors become CartUnavailable (a 503 and a friendly page), never a 500."""
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RedisError as exc:
            raise CartUnavailable() from exc
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


# ---------------------------------------------------------------- reading
def _lines(flat: list[bytes]) -> tuple[dict[str, int], dict[str, Decimal]]:
    """A script's flat {sku, "quantity:price seen", ...} list: (quantities, prices seen) by SKU."""
    quantities, seen = {}, {}
    for i in range(0, len(flat), 2):
        sku = flat[i].decode()
        quantity, _, price = flat[i + 1].decode().partition(":")
        quantities[sku] = int(quantity)
        if price:
            seen[sku] = Decimal(price)
    return quantities, seen


def _from_redis(token: str, owner: bytes, raw_lines: list[bytes], raw_copies=(), *,
                known: tuple[dict, dict] = ({}, {})) -> Cart:
    quantities, seen = _lines(raw_lines)
    info, available = _from_copies(raw_lines, raw_copies)
    return _build(token, int(owner) if owner else None, quantities, seen,
                  known=({**info, **known[0]}, {**available, **known[1]}))


def _user_arg(user_id: int | None) -> str:
    return str(user_id) if user_id else ""


@_guard
def _owner(token: str) -> tuple[bool, int | None]:
    owner = _redis().hget(_key(token), "owner")
    if owner is None:
        return False, None
    return True, int(owner) if owner else None


def _read(token: str, user_id: int | None) -> list:
    """The _READ script's answer for this cart ({0} for a missing one or another shopper's)."""
    if not token:
        return [0]
    return _script(_READ)(keys=[_key(token)], args=[GUEST_TTL, OWNED_TTL, _user_arg(user_id), *_copy_args()])


@_guard
def cart_get(*, token: str, user_id: int | None = None, fresh: bool = False) -> Cart:
    """The cart with current names, prices and availability (refreshing its expiry). Another shopper's cart is
    CartNotFound, exactly like a missing one. ``fresh``: read them from catalog and inventory themselves rather
    than from the cart's version-checked copy (checkout: the cart is never trusted there)."""
    found = _read(token, user_id)
    if not found[0]:
        raise CartNotFound(token)
    return _from_redis(token, *found[1:3]) if fresh else _from_redis(token, *found[1:])


@_guard
def cart_quantities(*, token: str, user_id: int | None = None) -> dict[str, int]:
    """SKU -> quantity, from Redis alone (the flash-sale gate is asked before anything touches PostgreSQL)."""
    found = _read(token, user_id)
    if not found[0]:
        raise CartNotFound(token)
    return _lines(found[2])[0]


def _build(token: str, owner: int | None, quantities: dict[str, int], seen: dict[str, Decimal], *,
           known: tuple[dict, dict] = ({}, {})) -> Cart:
    """``known`` = (variant info, availability) already read in this request, so they are not read twice."""
    info, available = dict(known[0]), dict(known[1])
    missing = [sku for sku in quantities if sku not in available]
    if missing:  # no fresh copy: read them, and keep copies for next time
        fresh_info, fresh_available = _project(missing)
        info.update(fresh_info)
        available.update(fresh_available)
    lines, notices, subtotal = [], [], Decimal("0.00")
    for sku in sorted(quantities, key=lambda s: (info[s].product_name if s in info else s, s)):
        variant = info.get(sku)
        quantity = quantities[sku]
        if variant is None or not variant.is_active:
            lines.append(CartLine(sku=sku, name=variant.product_name if variant else sku,
                                  product_slug=variant.product_slug if variant else "", quantity=quantity,
                                  unit_price=None, line_total=Decimal("0.00"), available=0))
            notices.append(f"{variant.product_name if variant else sku} is no longer sold; please remove it.")
            continue
        name = f"{variant.product_name} — {variant.variant_name}"
        changed_from = seen.get(sku) if seen.get(sku) not in (None, variant.price) else None
        if changed_from is not None:
            direction = "dropped" if variant.price < changed_from else "gone up"
            notices.append(f"The price of {name} has {direction} from {changed_from} to {variant.price}.")
        if quantity > available.get(sku, 0):
            notices.append(f"Only {max(available.get(sku, 0), 0)} of {name} available now.")
        total = variant.price * quantity
        subtotal += total
        lines.append(CartLine(sku=sku, name=name, product_slug=variant.product_slug, quantity=quantity,
                              unit_price=variant.price, line_total=total, available=max(available.get(sku, 0), 0),
                              price_when_added=changed_from))
    return Cart(token=token, lines=tuple(lines), subtotal=subtotal, currency=settings.STORE_CURRENCY,
                owner_id=owner, notices=tuple(notices))


def cart_line_count(*, token: str | None) -> int:
    """Number of lines, for the header badge; 0 for no cart and when Redis is down (the badge never fails a page)."""
    if not token:
        return 0
    try:
        return max(int(_redis().hlen(_key(token))) - len(_META), 0)
    except RedisError:
        return 0


# ---------------------------------------------------------------- writing
@_guard
def cart_create(*, user_id: int | None = None) -> Cart:
    token = secrets.token_urlsafe(18)
    pipe = _redis().pipeline()
    pipe.hset(_key(token), mapping=dict(zip(_META, (user_id or "", "1"), strict=True)))
    pipe.expire(_key(token), _ttl(user_id))
    if user_id:
        pipe.set(f"cart:user:{user_id}", token, ex=OWNED_TTL)
    pipe.execute()
    return Cart(token=token, lines=(), subtotal=Decimal("0.00"), currency=settings.STORE_CURRENCY, owner_id=user_id)


@_guard
def cart_for_user(*, user_id: int) -> str | None:
    """The token of a signed-in shopper's cart, if they have one that has not expired."""
    token = _redis().get(f"cart:user:{user_id}")
    if token and _owner(token.decode())[0]:
        return token.decode()
    return None


def cart_token_of(*, session_token: str | None, user_id: int | None) -> str | None:
    """The cart a request should use: the one in its session, else (signed in) the shopper's saved cart."""
    if session_token is None and user_id:
        return cart_for_user(user_id=user_id)
    return session_token


def _write_args(sku: str, quantity: int, mode: str, user_id: int | None, *, available: str = "",
                price: str = "") -> list:
    """_WRITE_LINE's ARGV; without ``available`` and ``price`` the script takes them from the SKU's copy."""
    return [sku, quantity, mode, MAX_QUANTITY, MAX_LINES, GUEST_TTL, OWNED_TTL, _user_arg(user_id), *_copy_args(),
            available, price]


def _write(token: str, sku: str, quantity: int, mode: str, user_id: int | None) -> CartChange:
    """One round trip with the SKU's copy; if it is missing or stale, rebuild it and try once more; if it went stale
    again meanwhile (a hot SKU under a crowd), check against the services directly."""
    args = _write_args(sku, quantity, mode, user_id)
    for _ in range(2):
        result = _script(_WRITE_LINE)(keys=[_key(token)], args=args)
        if result[0] != -9:
            break
        if not _project([sku])[0] and quantity:  # not a SKU we sell: the checked path says which error
            return _write_checked(token, sku, quantity, mode, user_id)
    else:
        return _write_checked(token, sku, quantity, mode, user_id)
    return _answer(token, sku, result)


def _write_checked(token: str, sku: str, quantity: int, mode: str, user_id: int | None) -> CartChange:
    """The same write with the SKU read from catalog and inventory in this request (no copy to lean on)."""
    info = catalog_services.variant_prices(skus=[sku]).get(sku)
    if quantity and (info is None or not info.is_active):
        if not token or not _read(token, user_id)[0]:
            raise CartNotFound(token)  # a missing cart is the first thing to report
        raise UnknownSku(sku)
    available = inventory_services.stock_availability(skus=[sku])[sku] if quantity else 0
    result = _script(_WRITE_LINE)(keys=[_key(token)], args=_write_args(
        sku, quantity, mode, user_id, available=str(available), price=str(info.price) if info else ""))
    known = ({sku: info} if info else {}, {sku: available} if quantity else {})
    return _answer(token, sku, result, known=known, name=info.product_name if info else "")


def _answer(token: str, sku: str, result: list, *, known=({}, {}), name: str = "") -> CartChange:
    """The write script's answer: the changed cart, or the refusal it stands for."""
    new, previous = result[0], result[1]
    if new == -1:
        raise CartNotFound(token)
    if new == -5:
        raise UnknownSku(sku)
    if new == -2:
        raise InvalidQuantity(f"At most {MAX_QUANTITY} of one item per order; you already have {previous}.",
                              extra={"in_cart": previous})
    if new == -3:
        raise InsufficientStock(sku, int(result[2]), name or result[3].decode())
    if new == -4:
        raise CartFull(f"A cart holds at most {MAX_LINES} different items.")
    return CartChange(cart=_from_redis(token, *result[2:], known=known), created_line=previous == 0 and new > 0)


@_guard
def cart_add(*, token: str, sku: str, quantity: int, user_id: int | None = None) -> CartChange:
    """Add to the line of ``sku`` (creating it): refused past what is available, 99 per line or 100 lines."""
    return _write(token, sku, _quantity(quantity, allow_zero=False), "add", user_id)


@_guard
def cart_set_quantity(*, token: str, sku: str, quantity: int, user_id: int | None = None) -> CartChange:
    """Set a line's quantity; 0 removes it."""
    return _write(token, sku, _quantity(quantity, allow_zero=True), "set", user_id)


@_guard
def cart_remove(*, token: str, sku: str, user_id: int | None = None) -> Cart:
    return _write(token, sku, 0, "set", user_id).cart


@_guard
def cart_clear(*, token: str) -> None:
    """After an order is placed from it."""
    _script(_CLEAR)(keys=[_key(token)])


@_guard
def cart_merge_on_login(*, guest_token: str | None, user_id: int) -> tuple[str, list[str]]:
    """Make the signed-in shopper's cart, folding in the cart they filled as a guest: quantities add, capped by
    availability and the per-line maximum. Returns (the shopper's token, messages describing the merge)."""
    user_token = cart_for_user(user_id=user_id)
    guest_exists, guest_owner = _owner(guest_token) if guest_token else (False, None)
    if not guest_exists or guest_owner not in (None, user_id) or guest_token == user_token:
        return (user_token or cart_create(user_id=user_id).token), []
    if user_token is None:  # adopt the guest cart as the shopper's own
        redis = _redis()
        pipe = redis.pipeline()
        pipe.hset(_key(guest_token), "owner", user_id)
        pipe.expire(_key(guest_token), OWNED_TTL)
        pipe.set(f"cart:user:{user_id}", guest_token, ex=OWNED_TTL)
        pipe.execute()
        return guest_token, []
    try:
        guest_lines = cart_quantities(token=guest_token, user_id=user_id)
    except CartNotFound:  # expired since it was looked at: nothing to fold in
        return user_token, []
    info = catalog_services.variant_prices(skus=guest_lines)
    available = inventory_services.stock_availability(skus=guest_lines)
    skus = [sku for sku in sorted(guest_lines) if sku in info and info[sku].is_active]
    args = [OWNED_TTL]
    for sku in skus:
        args += [sku, min(MAX_QUANTITY, max(available[sku], 0)), str(info[sku].price)]
    added = _script(_MERGE)(keys=[_key(user_token), _key(guest_token)], args=args)
    messages, moved = [], 0
    for sku, count in zip(skus, added, strict=True):
        moved += count
        if count < guest_lines[sku]:
            name = info[sku].product_name
            messages.append(f"{name}: only {count} of your {guest_lines[sku]} could be added (availability).")
    if moved:
        messages.insert(0, f"We added {moved} item{'s' if moved != 1 else ''} from your earlier visit to your cart.")
    return user_token, messages
