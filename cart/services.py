"""The cart's public interface. A cart is SKUs and quantities, kept in Redis (cart.redis_store), where each change
is one atomic step, so concurrent clicks never lose an update; every touch refreshes its expiry (7 days for guests,
30 for signed-in shoppers).

A cart never keeps what it would charge: names and prices are asked of the catalogue and availability of inventory
each time a cart is shown or changed, through their services, which cache them and keep their caches exact (a
change is never missed once it has committed). So adding to a cart runs no SQL while nothing changes, and at
checkout the cart is read ``fresh``: availability straight from the stock rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal

from django.conf import settings
from redis.exceptions import RedisError

from catalog import services as catalog_services
from catalog.types import VariantInfo
from inventory import services as inventory_services

from . import redis_store
from .redis_store import StoredCart
from .types import (
    Cart,
    CartChange,
    CartEstimate,
    CartFull,
    CartLine,
    CartNotFound,
    CartPromo,
    CartUnavailable,
    InsufficientStock,
    InvalidQuantity,
    UnknownSku,
)

SESSION_KEY = "cart_token"  # where the pages keep a shopper's cart token in their session
PROMO_SESSION_KEY = "promo_code"  # the promo code entered on the cart page, which the checkout page starts from
MAX_QUANTITY = 99
MAX_LINES = 100
GUEST_TTL = 7 * 24 * 3600
OWNED_TTL = 30 * 24 * 3600


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


def _read(token: str, user_id: int | None) -> StoredCart:
    stored = redis_store.cart_read(token, user_id=user_id, guest_ttl=GUEST_TTL, owned_ttl=OWNED_TTL)
    if stored is None:
        raise CartNotFound(token)
    return stored


# ---------------------------------------------------------------- reading
@_guard
def cart_get(*, token: str, user_id: int | None = None, fresh: bool = False) -> Cart:
    """The cart with current names, prices and availability (refreshing its expiry). Another shopper's cart is
    CartNotFound, exactly like a missing one. ``fresh``: availability from the stock rows rather than inventory's
    cache (checkout: the cart is never trusted there)."""
    return _priced(token, _read(token, user_id), fresh=fresh)


@_guard
def cart_quantities(*, token: str, user_id: int | None = None) -> dict[str, int]:
    """SKU -> quantity, from Redis alone (the flash-sale gate is asked before anything touches PostgreSQL)."""
    return _read(token, user_id).quantities


def _priced(token: str, stored: StoredCart, *, fresh: bool = False,
            known: tuple[dict[str, VariantInfo], dict[str, int]] = ({}, {})) -> Cart:
    """The stored cart with its names, prices and availability. ``known`` = (variant info, availability) already
    read in this request, so they are not asked for twice."""
    info, available = dict(known[0]), dict(known[1])
    missing = [sku for sku in stored.quantities if sku not in available]
    if missing:
        info.update(catalog_services.variant_prices(skus=missing, near=not fresh))
        read = inventory_services.stock_availability if fresh else inventory_services.stock_availability_cached
        available.update(read(skus=missing))
    lines, notices = [], []
    for sku in sorted(stored.quantities, key=lambda s: (info[s].product_name if s in info else s, s)):
        line, notice = _line(sku, stored.quantities[sku], stored.seen.get(sku), info.get(sku), available.get(sku, 0))
        lines.append(line)
        notices.extend(notice)
    subtotal = sum((line.line_total for line in lines), Decimal("0.00"))
    return Cart(token=token, lines=tuple(lines), subtotal=subtotal, currency=settings.STORE_CURRENCY,
                owner_id=stored.owner_id, notices=tuple(notices))


def _line(sku: str, quantity: int, seen: Decimal | None, variant: VariantInfo | None,
          available: int) -> tuple[CartLine, list[str]]:
    """A line as shown, and what the shopper should be told about it."""
    if variant is None or not variant.is_active:
        name = variant.product_name if variant else sku
        return (CartLine(sku=sku, name=name, product_slug=variant.product_slug if variant else "", quantity=quantity,
                         unit_price=None, line_total=Decimal("0.00"), available=0),
                [f"{name} is no longer sold; please remove it."])
    notices = []
    name = f"{variant.product_name} — {variant.variant_name}"
    changed_from = seen if seen not in (None, variant.price) else None
    if changed_from is not None:
        direction = "dropped" if variant.price < changed_from else "gone up"
        notices.append(f"The price of {name} has {direction} from {changed_from} to {variant.price}.")
    if quantity > available:
        notices.append(f"Only {max(available, 0)} of {name} available now.")
    return (CartLine(sku=sku, name=name, product_slug=variant.product_slug, quantity=quantity,
                     unit_price=variant.price, line_total=variant.price * quantity, available=max(available, 0),
                     price_when_added=changed_from, image_url=variant.image_url), notices)


# Whether a promo code applies to a cart, and what it takes off, is the checkout's to say, and orders sits above the
# cart: it tells the cart how to ask (orders/apps.py calls cart_promo_provide). The cart only remembers the code.
_promo_quote: Callable[[str, int | None, str], CartPromo] = lambda token, user_id, code: CartPromo(code=code)  # noqa: E731


def cart_promo_provide(*, quote: Callable[[str, int | None, str], CartPromo]) -> None:
    """``quote(token, user_id, code)``: the code's discount on that cart now, or why it cannot be used."""
    global _promo_quote
    _promo_quote = quote


def cart_promo(*, token: str, user_id: int | None, code: str) -> CartPromo:
    """What ``code`` would take off this cart at checkout now (CartPromo.problem: why it would not)."""
    return _promo_quote(token, user_id, code)


# Likewise the estimate of shipping and tax for a signed-in shopper's default address (orders/apps.py provides it).
_estimate: Callable[[str, int, str], CartEstimate | None] = lambda token, user_id, code: None  # noqa: E731


def cart_estimate_provide(*, estimate: Callable[[str, int, str], CartEstimate | None]) -> None:
    """``estimate(token, user_id, code)``: the cart delivered to the shopper's default address, or None."""
    global _estimate
    _estimate = estimate


def cart_estimate(*, token: str, user_id: int, code: str = "") -> CartEstimate | None:
    """Shipping, tax and total of this cart (with ``code`` if it applies) delivered to the signed-in shopper's
    default address; None without one, or when the cart cannot be priced now (the checkout says why)."""
    return _estimate(token, user_id, code)


def cart_unit_count(*, token: str | None) -> int:
    """Number of units (two of one thing count two), for the header badge; 0 for no cart and when Redis is down."""
    if not token:
        return 0
    try:
        return redis_store.unit_count(token)
    except RedisError:
        return 0


def cart_line_count(*, token: str | None) -> int:
    """Number of lines, for the header badge; 0 for no cart and when Redis is down (the badge never fails a page)."""
    if not token:
        return 0
    try:
        return redis_store.line_count(token)
    except RedisError:
        return 0


# ---------------------------------------------------------------- writing
@_guard
def cart_create(*, user_id: int | None = None) -> Cart:
    token = secrets.token_urlsafe(18)
    redis_store.cart_store(token, user_id=user_id, ttl=_ttl(user_id))
    return Cart(token=token, lines=(), subtotal=Decimal("0.00"), currency=settings.STORE_CURRENCY, owner_id=user_id)


@_guard
def cart_for_user(*, user_id: int) -> str | None:
    """The token of a signed-in shopper's cart, if they have one that has not expired."""
    token = redis_store.user_cart_token(user_id)
    if token and redis_store.cart_owner(token)[0]:
        return token
    return None


def cart_token_of(*, session_token: str | None, user_id: int | None) -> str | None:
    """The cart a request should use: the one in its session, else (signed in) the shopper's saved cart."""
    if session_token is None and user_id:
        return cart_for_user(user_id=user_id)
    return session_token


def _write(token: str, sku: str, quantity: int, mode: str, user_id: int | None) -> CartChange:
    """Check the SKU with the catalogue and inventory (from their caches: no SQL while nothing changed), then change
    its line in one atomic step, which also checks the cart's own limits."""
    info = catalog_services.variant_prices(skus=[sku], near=True).get(sku)
    if quantity and (info is None or not info.is_active):
        _read(token, user_id)  # a missing cart is the first thing to report
        raise UnknownSku(sku)
    available = inventory_services.stock_availability_cached(skus=[sku])[sku] if quantity else 0
    written = redis_store.line_write(
        token, sku, quantity, mode=mode, user_id=user_id, available=available, price=info.price if info else None,
        max_quantity=MAX_QUANTITY, max_lines=MAX_LINES, guest_ttl=GUEST_TTL, owned_ttl=OWNED_TTL)
    if written.refused == redis_store.NO_CART:
        raise CartNotFound(token)
    if written.refused == redis_store.OVER_LINE_MAXIMUM:
        raise InvalidQuantity(f"At most {MAX_QUANTITY} of one item per order; you already have {written.previous}.",
                              extra={"in_cart": written.previous})
    if written.refused == redis_store.OVER_AVAILABLE:
        raise InsufficientStock(sku, written.available, info.display_name)  # names the size chosen
    if written.refused == redis_store.TOO_MANY_LINES:
        raise CartFull(f"A cart holds at most {MAX_LINES} different items.")
    stored, known = written.cart, ({sku: info} if info else {}, {sku: available} if quantity else {})
    line = _line(sku, written.new, stored.seen.get(sku), info, available)[0] if written.new else None
    return CartChange(line=line, created_line=written.previous == 0 and written.new > 0,
                      priced=_guard(lambda: _priced(token, stored, known=known)))


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
    redis_store.lines_clear(token)


@_guard
def cart_merge_on_login(*, guest_token: str | None, user_id: int) -> tuple[str, list[str]]:
    """Make the signed-in shopper's cart, folding in the cart they filled as a guest: quantities add, capped by
    availability and the per-line maximum. Returns (the shopper's token, messages describing the merge)."""
    user_token = cart_for_user(user_id=user_id)
    guest_exists, guest_owner = redis_store.cart_owner(guest_token) if guest_token else (False, None)
    if not guest_exists or guest_owner not in (None, user_id) or guest_token == user_token:
        return (user_token or cart_create(user_id=user_id).token), []
    if user_token is None:  # adopt the guest cart as the shopper's own
        redis_store.cart_adopt(guest_token, user_id=user_id, ttl=OWNED_TTL)
        return guest_token, []
    try:
        guest_lines = cart_quantities(token=guest_token, user_id=user_id)
    except CartNotFound:  # expired since it was looked at: nothing to fold in
        return user_token, []
    info = catalog_services.variant_prices(skus=guest_lines)
    available = inventory_services.stock_availability(skus=guest_lines)
    skus = [sku for sku in sorted(guest_lines) if sku in info and info[sku].is_active]
    added = redis_store.lines_merge(
        user_token, guest_token,
        [(sku, guest_lines[sku], min(MAX_QUANTITY, max(available[sku], 0)), info[sku].price) for sku in skus],
        user_id=user_id, ttl=OWNED_TTL, max_lines=MAX_LINES)
    messages, moved = [], 0
    for sku, count in zip(skus, added, strict=True):
        moved += count
        if count < guest_lines[sku]:
            name = info[sku].product_name
            messages.append(f"{name}: only {count} of your {guest_lines[sku]} could be added (availability).")
    if moved:
        messages.insert(0, f"We added {moved} item{'s' if moved != 1 else ''} from your earlier visit to your cart.")
    return user_token, messages
