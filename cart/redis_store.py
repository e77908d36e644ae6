"""Where carts are kept: Redis (no tables). The keys, and the Lua scripts (cart/lua/) that change a cart in one atomic
step each, so concurrent clicks never lose an update.

    cart:t:<token>     hash: owner (user id, or empty for a guest), created, and a field l:<sku> per line holding
                       "<quantity>:<the price the shopper saw when they last changed the line>" (display only)
    cart:user:<id>     the token of a signed-in shopper's saved cart, kept alive as long as that cart

Each script touches one key, the cart or the pointer, so every script runs on a Redis Cluster as it does on one server
(a cluster runs a script only on keys of one hash slot, and two carts, or a cart and its pointer, are in different
slots): a signed-in shopper's pointer is refreshed by a second call after the cart's script, and a merge deletes the
guest's cart after folding its lines into the saved one. What the cart shows of a SKU besides its quantity (name,
price, availability) is not kept here: cart.services asks the catalogue and inventory for it each time, and they
cache it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django_redis import get_redis_connection

LUA = Path(__file__).resolve().parent / "lua"
META = ("owner", "created")  # a cart hash's fields besides its lines (l:<sku>)

# write_line's refusals (cart/lua/write_line.lua)
NO_CART, OVER_LINE_MAXIMUM, OVER_AVAILABLE, TOO_MANY_LINES = -1, -2, -3, -4


@dataclass(frozen=True)
class StoredCart:
    owner_id: int | None
    quantities: dict[str, int]  # SKU -> quantity
    seen: dict[str, Decimal]  # SKU -> the price the shopper saw when they last changed the line


@dataclass(frozen=True)
class LineWrite:
    """write_line's answer: the quantity before, and either the new quantity and the cart as it now is, or the
    refusal (one of the codes above; ``available`` is the units available for OVER_AVAILABLE)."""
    previous: int
    new: int = 0
    cart: StoredCart | None = None
    refused: int = 0
    available: int = 0


def _redis():
    return get_redis_connection("default")


@functools.cache
def _script(name: str):
    """The script cart/lua/<name>.lua with the shared functions of lines.lua before it, registered with redis-py
    (EVALSHA, loading it into whichever server lacks it)."""
    source = (LUA / "lines.lua").read_text() + "\n" + (LUA / f"{name}.lua").read_text()
    return _redis().register_script(source)


def _run(name: str, keys: list[str], args: list) -> list:
    return _script(name)(keys=keys, args=args, client=_redis())  # the current client (settings can change in tests)


def cart_key(token: str) -> str:
    return f"cart:t:{token}"


def _user_key(user_id: int) -> str:
    return f"cart:user:{user_id}"


def _user_arg(user_id: int | None) -> str:
    return str(user_id) if user_id else ""


def _keep_pointer(token: str, stored: StoredCart, ttl: int) -> StoredCart:
    """A signed-in shopper's own cart keeps the pointer to it alive as long as itself (if the pointer still names
    it). A separate call from the cart's script: on a Redis Cluster the two keys live in different slots."""
    if stored.owner_id:
        _run("keep_pointer", [_user_key(stored.owner_id)], [token, ttl])
    return stored


def _stored(owner: bytes, flat: list[bytes]) -> StoredCart:
    """A script's owner and flat {sku, "quantity:price seen", ...} list."""
    quantities, seen = {}, {}
    for i in range(0, len(flat), 2):
        sku = flat[i].decode()
        quantity, _, price = flat[i + 1].decode().partition(":")
        quantities[sku] = int(quantity)
        if price:
            seen[sku] = Decimal(price)
    return StoredCart(owner_id=int(owner) if owner else None, quantities=quantities, seen=seen)


# ---------------------------------------------------------------- reading
def cart_read(token: str, *, user_id: int | None, guest_ttl: int, owned_ttl: int) -> StoredCart | None:
    """The cart, its expiry refreshed; None for a missing cart or another shopper's."""
    if not token:
        return None
    found = _run("read", [cart_key(token)], [guest_ttl, owned_ttl, _user_arg(user_id)])
    return _keep_pointer(token, _stored(found[1], found[2]), owned_ttl) if found[0] else None


def cart_owner(token: str) -> tuple[bool, int | None]:
    """(whether the cart exists, its owner's user id or None for a guest's)."""
    owner = _redis().hget(cart_key(token), "owner")
    if owner is None:
        return False, None
    return True, int(owner) if owner else None


def user_cart_token(user_id: int) -> str | None:
    token = _redis().get(_user_key(user_id))
    return token.decode() if token else None


def line_count(token: str) -> int:
    return max(int(_redis().hlen(cart_key(token))) - len(META), 0)


def unit_count(token: str) -> int:
    """The units in the cart: each line's quantity (the part of its "quantity:price seen" before the colon)."""
    fields = _redis().hgetall(cart_key(token))
    return sum(int(value.partition(b":")[0]) for name, value in fields.items() if name.startswith(b"l:"))


# ---------------------------------------------------------------- writing
def cart_store(token: str, *, user_id: int | None, ttl: int) -> None:
    """A new, empty cart (and, for a signed-in shopper, the pointer to it)."""
    pipe = _redis().pipeline()
    pipe.hset(cart_key(token), mapping=dict(zip(META, (user_id or "", "1"), strict=True)))
    pipe.expire(cart_key(token), ttl)
    if user_id:
        pipe.set(_user_key(user_id), token, ex=ttl)
    pipe.execute()


def cart_adopt(token: str, *, user_id: int, ttl: int) -> None:
    """Make a guest's cart a signed-in shopper's own."""
    pipe = _redis().pipeline()
    pipe.hset(cart_key(token), "owner", user_id)
    pipe.expire(cart_key(token), ttl)
    pipe.set(_user_key(user_id), token, ex=ttl)
    pipe.execute()


def line_write(token: str, sku: str, quantity: int, *, mode: str, user_id: int | None, available: int,
               price: Decimal | None, max_quantity: int, max_lines: int, guest_ttl: int,
               owned_ttl: int) -> LineWrite:
    """Add ``quantity`` to the line of ``sku`` (mode "add") or set it (mode "set"; 0 removes it), refused past
    ``max_quantity``, past ``available`` (only when the line grows) or past ``max_lines``."""
    result = _run("write_line", [cart_key(token)], [
        sku, quantity, mode, max_quantity, max_lines, guest_ttl, owned_ttl, _user_arg(user_id), available,
        "" if price is None else str(price)])
    if result[0] < 0:
        return LineWrite(previous=result[1], refused=result[0],
                         available=int(result[2]) if result[0] == OVER_AVAILABLE else 0)
    return LineWrite(previous=result[1], new=result[0], cart=_keep_pointer(token, _stored(result[2], result[3]),
                                                                           owned_ttl))


def lines_merge(target: str, source: str, lines: list[tuple[str, int, int, Decimal]], *, user_id: int, ttl: int,
                max_lines: int) -> list[int]:
    """Add each (sku, quantity, cap, price) of the source cart (as just read) to the target cart (the shopper's saved
    cart), capped; then delete the source and refresh the target's pointer. Returns the quantities added, in order.

    Three calls, not one script: the two carts live in different hash slots on a Redis Cluster. Folded first, deleted
    after, so a failure in between leaves the guest's cart behind (it expires unused), never loses its lines."""
    args: list = [ttl, max_lines]
    for sku, quantity, cap, price in lines:
        args += [sku, quantity, cap, str(price)]
    added = _run("merge", [cart_key(target)], args)
    _redis().delete(cart_key(source))
    _run("keep_pointer", [_user_key(user_id)], [target, ttl])
    return added


def lines_clear(token: str) -> None:
    _run("clear", [cart_key(token)], [])
