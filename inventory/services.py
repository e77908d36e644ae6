"""Inventory's public interface: stock that cannot be oversold.

Every change locks the stock rows it touches with SELECT ... FOR UPDATE, always in SKU order (so two multi-line
checkouts can never deadlock), writes one ledger row per SKU with the deltas, and announces ``stock.changed``
after commit so higher apps (the catalogue's cache) refresh what they derived. The database's check constraints
(0 <= reserved <= on_hand) back every rule here: even a bug cannot store an oversell.

Reservations hold units for a reference (an order number) until they are committed (the order is paid: the units
leave), released (cancelled), or expire. Every operation on a reference is idempotent and reports what it did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from store.core import cache as cache_versions
from store.core import events, outbox
from store.core.exceptions import InvalidInput

from . import gate, selectors
from .models import FlashSale, Reservation, StockLevel, StockMovement
from .types import (
    InsufficientStock,
    InvalidQuantity,
    ReservationConflict,
    ReservationLine,
    ReservationReleased,
    ReservationResult,
    SaleNotStarted,
    StockBelowReserved,
    StockLevels,
    UnknownReservation,
    UnknownSku,
)

logger = logging.getLogger(__name__)
STOCK_CHANGED = "stock.changed"  # in-process, after commit: {"available": {sku: units a shopper can buy}, "before"}
RESERVATION_EXPIRED = "reservation.expired"  # outbox: {"reference", "lines": [{"sku", "quantity"}]}
MAX_QUANTITY = 1_000_000
Kind = StockMovement.Kind


def _as_levels(level: StockLevel) -> StockLevels:
    return StockLevels(sku=level.sku, on_hand=level.on_hand, reserved=level.reserved)


def _quantity(value, *, allow_negative: bool = False, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"Quantity must be a whole number, not {value!r}.")
    if value == 0 and not allow_zero:
        raise InvalidQuantity("Quantity must not be zero.")
    if value < 0 and not allow_negative:
        raise InvalidQuantity(f"Quantity must be positive, not {value}.")
    if abs(value) > MAX_QUANTITY:
        raise InvalidQuantity(f"Quantity {value} is beyond any real stock.")
    return value


def _lock(skus: Iterable[str]) -> dict[str, StockLevel]:
    """Lock the stock rows of these SKUs, in SKU order; an unknown SKU is refused before anything changes."""
    wanted = sorted(set(skus))
    locked = {level.sku: level for level in StockLevel.objects.select_for_update().filter(sku__in=wanted)
              .order_by("sku")}
    for sku in wanted:
        if sku not in locked:
            raise UnknownSku(sku)
    return locked


def availability_scope(sku: str) -> str:
    """The cache scope (store.core.cache) of a SKU's availability, which every change bumps after it commits:
    stock_availability_cached's entries and the catalogue's pages that show availability are built at it."""
    return f"stock:{sku}"


def _changed(available: Mapping[str, int], before: Mapping[str, int]) -> None:
    """After commit: make copies of the old availability stale, then announce what shoppers can now buy of each
    changed SKU, and what they could before (subscribers need no query for it: whether a SKU sold out or came back
    is in the event). Nothing here runs while the stock rows are locked: a Redis round trip inside the hot SKU's
    lock would lengthen every reservation's hold on it."""
    scopes = [availability_scope(sku) for sku in available]
    transaction.on_commit(lambda: cache_versions.bump(scopes))
    events.publish(STOCK_CHANGED, available=dict(available), before={sku: before[sku] for sku in available})


# ---------------------------------------------------------------- levels, receipts and adjustments
def stock_levels_ensure(*, initial_on_hand: Mapping[str, int], reason: str = "initial stock") -> list[str]:
    """Create the stock rows of SKUs that have none yet (idempotent: existing rows are left as they are).

    ``initial_on_hand`` maps each SKU to the units it starts with (0 for a new variant); a start above 0 is a
    receipt in the ledger, so levels always equal ledger sums. Returns the SKUs created."""
    wanted = dict(sorted(initial_on_hand.items()))
    for quantity in wanted.values():
        _quantity(quantity, allow_zero=True)
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
            StockMovement(sku=sku, kind=Kind.RECEIPT, on_hand_delta=wanted[sku], reason=reason)
            for sku in missing if wanted[sku]
        )
        if missing:
            _changed({sku: wanted[sku] for sku in missing}, dict.fromkeys(missing, 0))
    return missing


@transaction.atomic
def stock_adjust(*, sku: str, delta: int, reason: str = "", user_id: int | None = None,
                 kind: str = Kind.ADJUSTMENT, reference: str = "") -> StockLevels:
    """Change on_hand by ``delta``; refused, with the levels unchanged, if on_hand would fall below reserved."""
    _quantity(delta, allow_negative=True, allow_zero=True)
    level = _lock([sku])[sku]
    new_on_hand = level.on_hand + delta
    if new_on_hand < level.reserved:
        raise StockBelowReserved(sku, new_on_hand, level.reserved)
    if delta:
        level.on_hand = new_on_hand
        level.save(update_fields=["on_hand", "updated_at"])
        StockMovement.objects.create(sku=sku, kind=kind, on_hand_delta=delta, reason=reason[:255],
                                     user_id=user_id, reference=reference[:64])
        _changed({sku: level.on_hand - level.reserved}, {sku: level.on_hand - delta - level.reserved})
        transaction.on_commit(lambda: _gate_give_back({sku: delta}))  # a delivery during a sale adds tokens
    return _as_levels(level)


def stock_receive(*, sku: str, quantity: int, reason: str = "", user_id: int | None = None) -> StockLevels:
    """A delivery (positive) or a write-off (negative)."""
    _quantity(quantity, allow_negative=True)
    return stock_adjust(sku=sku, delta=quantity, reason=reason, user_id=user_id,
                        kind=Kind.RECEIPT if quantity > 0 else Kind.ADJUSTMENT)


@transaction.atomic
def stock_return(*, sku: str, quantity: int, reference: str = "", reason: str = "",
                 user_id: int | None = None, once: bool = False) -> StockLevels:
    """Units sent back by a customer (a refund with restock, a return) go back on the shelf. With ``once``, at
    most once per (``reference``, SKU): a second call finds the first one's ledger row, under the stock row's lock,
    and changes nothing (a return's restock, however often it is sent)."""
    quantity = _quantity(quantity)
    if once:
        if not reference:
            raise InvalidInput("A restock made once needs the reference it is made for.")
        level = _lock([sku])[sku]
        if StockMovement.objects.filter(sku=sku, kind=Kind.RETURN, reference=reference).exists():
            return _as_levels(level)
    return stock_adjust(sku=sku, delta=quantity, reason=reason or "returned", user_id=user_id,
                        kind=Kind.RETURN, reference=reference)


@transaction.atomic
def stock_set(*, sku: str, on_hand: int, reason: str = "", user_id: int | None = None) -> StockLevels:
    """Set on_hand to a counted figure, through an adjustment of the difference."""
    _quantity(on_hand, allow_zero=True)
    level = _lock([sku])[sku]
    return stock_adjust(sku=sku, delta=on_hand - level.on_hand, reason=reason, user_id=user_id)


# ---------------------------------------------------------------- reading
# What a SKU is called is the catalogue's to say, and the catalogue sits above inventory: it tells inventory how to
# ask (catalog/apps.py calls sku_names_provide), so staff screens of stock show and find SKUs by their products.
_sku_names: Callable[[list[str]], dict[str, str]] = lambda skus: {}  # noqa: E731
_skus_named: Callable[[str], list[str]] = lambda text: []  # noqa: E731


def sku_names_provide(*, names: Callable[[list[str]], dict[str, str]], find: Callable[[str], list[str]]) -> None:
    """``names(skus)``: each known SKU's "Product — Variant"; ``find(text)``: the SKUs whose product or variant
    name holds the text."""
    global _sku_names, _skus_named
    _sku_names, _skus_named = names, find


def sku_names(*, skus: Iterable[str]) -> dict[str, str]:
    """The name of each SKU the catalogue knows ("Product — Variant"); others are left out."""
    skus = list(skus)
    return _sku_names(skus) if skus else {}


def skus_named(*, text: str) -> list[str]:
    """SKUs whose product or variant name holds ``text`` (as the catalogue finds them)."""
    return _skus_named(text) if text.strip() else []


def stock_levels(*, sku: str) -> StockLevels:
    level = selectors.stock_levels_by_sku(skus=[sku]).get(sku)
    if level is None:
        raise UnknownSku(sku)
    return _as_levels(level)


def stock_availability(*, skus: Iterable[str]) -> dict[str, int]:
    """Units a shopper could buy now, per SKU, in one query; a SKU with no stock row has 0. (Every cart and
    product view asks this, so it is one plain statement.)"""
    skus = list(skus)
    if not skus:
        return {}
    available = selectors.availability_by_sku(skus=skus)
    return {sku: available.get(sku, 0) for sku in skus}


AVAILABILITY_CACHE_SECONDS = 3600  # an entry nobody reads lapses; one in use is checked against its scope every read
_AVAILABLE_KEY = "inventory:available:"


def stock_availability_cached(*, skus: Iterable[str]) -> dict[str, int]:
    """stock_availability through the cache, for what shows availability on every view (the cart): each SKU's
    figure is versioned by its availability_scope, so a change is never missed once it has committed, and SKUs
    whose figures are current cost one Redis round trip and no SQL. The others are read in one query. A hint for
    display and for the cart's checks, never a promise: stock_reserve alone decides."""
    skus = list(dict.fromkeys(skus))

    def build(keys: list[str]) -> dict[str, int]:
        available = stock_availability(skus=[key.removeprefix(_AVAILABLE_KEY) for key in keys])
        return {_AVAILABLE_KEY + sku: units for sku, units in available.items()}

    found = cache_versions.versioned_many({_AVAILABLE_KEY + sku: (availability_scope(sku),) for sku in skus}, build,
                                          timeout=AVAILABILITY_CACHE_SECONDS, near=True)
    return {sku: found.get(_AVAILABLE_KEY + sku, 0) for sku in skus}


# ---------------------------------------------------------------- reservations
def _lines(lines: Mapping[str, int] | Iterable[ReservationLine]) -> dict[str, int]:
    pairs = lines.items() if isinstance(lines, Mapping) else ((line.sku, line.quantity) for line in lines)
    merged: dict[str, int] = {}
    for sku, quantity in pairs:
        if not isinstance(sku, str) or not sku:
            raise InvalidInput(f"Not a SKU: {sku!r}.")
        merged[sku] = merged.get(sku, 0) + _quantity(quantity)
    if not merged:
        raise InvalidQuantity("Nothing to reserve.")
    return dict(sorted(merged.items()))


def _result(reference: str, rows: list[Reservation], *, changed: bool) -> ReservationResult:
    return _ended(reference, [(r.sku, r.quantity, r.state, r.expires_at) for r in sorted(rows, key=lambda r: r.sku)],
                  changed=changed)


def stock_reserve(*, reference: str, lines: Mapping[str, int] | Iterable[ReservationLine],
                  ttl: timedelta | None = None) -> ReservationResult:
    """Hold units of every line for ``reference``: all lines or none, inside the caller's transaction.

    Raises InsufficientStock (naming the SKU and what is available) or UnknownSku, with nothing held. Reserving
    the same lines for the same reference again, even concurrently, returns the one reservation (changed=False).

    This is the hottest write of a flash sale, so it is one SQL statement (_RESERVE_SQL): it locks the stock rows
    in SKU order (so multi-line checkouts never deadlock), checks that every line fits, and only then claims the
    reservation rows (INSERT ... ON CONFLICT DO NOTHING: the unique (reference, sku) index makes a second call for
    the same reference see the first), adds to ``reserved`` for the lines it claimed and writes the ledger; the
    database's constraint checks the result again. A refusal leaves nothing written."""
    if not reference or len(reference) > 64:
        raise InvalidInput("A reservation needs a reference of 1 to 64 characters.")
    wanted = _lines(lines)
    now = timezone.now()
    expires_at = now + (ttl if ttl is not None else timedelta(minutes=settings.RESERVATION_MINUTES))
    params = {"reference": reference, "skus": list(wanted), "quantities": list(wanted.values()),
              "expires": expires_at, "now": now}
    refusal: Exception | None = None
    existing: list[Reservation] = []
    # savepoint=False: every refusal is raised after the block with nothing of ours left written, so the caller's
    # transaction stays usable; a database error still aborts it (nothing half-written survives).
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, params)
        rows = cursor.fetchall()  # (sku, available before, fits, SKUs claimed) per stock row found
        fits, claimed = rows[0][2], rows[0][3] or []
        if not fits or len(claimed) < len(wanted):
            # Refused, or the reference already holds reservation rows and nothing moved. (This statement's fresh
            # snapshot sees rows a concurrent call committed while the one above waited for the stock rows.)
            if claimed:
                Reservation.objects.filter(reference=reference, sku__in=claimed).delete()
            existing = list(Reservation.objects.filter(reference=reference))
            if existing and {r.sku: r.quantity for r in existing} != wanted:
                refusal = ReservationConflict(f"{reference!r} already holds a different reservation.",
                                              extra={"reference": reference})
            elif not existing:
                available = {sku: units for sku, units, _, _ in rows if sku is not None}
                sku = next((sku for sku in wanted if available.get(sku, -1) < wanted[sku]), next(iter(wanted)))
                refusal = (UnknownSku(sku) if sku not in available
                           else InsufficientStock(sku, available[sku], wanted[sku]))
        else:
            _changed({sku: units - wanted[sku] for sku, units, _, _ in rows},
                     {sku: units for sku, units, _, _ in rows})
    if refusal is not None:
        raise refusal
    if existing:
        return _result(reference, existing, changed=False)
    return ReservationResult(reference=reference, state=Reservation.State.ACTIVE, changed=True,
                             lines=tuple(ReservationLine(sku=sku, quantity=q) for sku, q in wanted.items()),
                             expires_at=expires_at)


# Table names come from our own models; every value is a bound parameter.
# `locked` takes the row locks in SKU order and reads the rows as they are once locked; nothing is claimed unless
# the verdict over all of them says every line fits and the reference holds no rows yet (else it would add lines
# for other SKUs to a reservation it already has); `moved` reserves only what was claimed, and only when every
# line was (a second call for the same reference, concurrent, claims fewer: nothing moves).
_RESERVE_SQL = f"""
    WITH want AS (
        SELECT * FROM unnest(%(skus)s::varchar[], %(quantities)s::integer[]) AS w(sku, quantity)
    ), locked AS (
        SELECT s.id, s.sku, s.on_hand - s.reserved AS available
        FROM {StockLevel._meta.db_table} s WHERE s.sku = ANY(%(skus)s) ORDER BY s.sku FOR UPDATE OF s
    ), verdict AS (
        SELECT count(l.id) = cardinality(%(skus)s::varchar[])
               AND coalesce(bool_and(l.available >= w.quantity), false) AS fits
        FROM want w LEFT JOIN locked l USING (sku)
    ), claimed AS (
        INSERT INTO {Reservation._meta.db_table}
            (reference, sku, quantity, state, expires_at, created_at, updated_at)
        SELECT %(reference)s, w.sku, w.quantity, 'active', %(expires)s, %(now)s, %(now)s
        FROM want w, verdict v
        WHERE v.fits AND NOT EXISTS (SELECT FROM {Reservation._meta.db_table} r WHERE r.reference = %(reference)s)
        ORDER BY w.sku
        ON CONFLICT (reference, sku) DO NOTHING
        RETURNING sku, quantity
    ), moved AS (
        UPDATE {StockLevel._meta.db_table} s SET reserved = s.reserved + c.quantity, updated_at = %(now)s
        FROM claimed c
        WHERE s.sku = c.sku AND (SELECT count(*) FROM claimed) = cardinality(%(skus)s::varchar[])
        RETURNING s.sku, c.quantity
    ), ledger AS (
        INSERT INTO {StockMovement._meta.db_table}
            (sku, kind, on_hand_delta, reserved_delta, reference, reason, user_id, created_at)
        SELECT sku, 'reservation', 0, quantity, %(reference)s, '', NULL, %(now)s FROM moved
    )
    SELECT l.sku, l.available, v.fits, (SELECT array_agg(sku) FROM claimed)
    FROM verdict v LEFT JOIN locked l ON true
"""  # noqa: S608


def _end(*, reference: str, to_state: str, reason: str = "") -> ReservationResult:
    """Commit or release every active line of ``reference`` (shared by both; they differ in the deltas), in one
    statement (_END_SQL): the stock rows are locked only while it runs, and nothing is half-done if it fails."""
    committing = to_state == Reservation.State.COMMITTED
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_END_SQL, {"reference": reference, "to_state": to_state, "now": now, "reason": reason[:255],
                                  "kind": Kind.COMMIT if committing else Kind.RELEASE,
                                  "commits": int(committing)})
        lines = cursor.fetchall()  # (sku, quantity, state before, expires_at, available after or None if unmoved)
    if not lines:
        raise UnknownReservation(reference)
    active = [line for line in lines if line[2] == Reservation.State.ACTIVE]
    moved = {sku: available for sku, _, _, _, available in lines if available is not None}
    if active and len(moved) < len(active):  # a stock row is missing: the statement changed nothing
        raise UnknownSku(next(line[0] for line in active if line[0] not in moved))
    if not active:
        if committing and lines[0][2] == Reservation.State.RELEASED:
            raise ReservationReleased(reference)
        # committed twice, released twice, released after commit
        return _ended(reference, [(sku, quantity, state, expires) for sku, quantity, state, expires, _ in lines],
                      changed=False)
    if not committing:  # a commit takes units off both on_hand and reserved: what a shopper can buy is unchanged
        released = {sku: quantity for sku, quantity, _, _, available in lines if available is not None}
        _changed(moved, {sku: moved[sku] - quantity for sku, quantity in released.items()})
        transaction.on_commit(lambda: _gate_give_back(released))
    return _ended(reference, [(sku, quantity, to_state if available is not None else state, expires)
                              for sku, quantity, state, expires, available in lines], changed=True)


def _ended(reference: str, lines: list[tuple[str, int, str, object]], *, changed: bool) -> ReservationResult:
    """A reservation as services hand it out, from its lines in SKU order: (sku, quantity, state, expires_at)."""
    states = {state for _, _, state, _ in lines}
    return ReservationResult(
        reference=reference, state=states.pop() if len(states) == 1 else Reservation.State.ACTIVE, changed=changed,
        lines=tuple(ReservationLine(sku=sku, quantity=quantity) for sku, quantity, _, _ in lines),
        expires_at=min((expires for _, _, _, expires in lines), default=None),
    )


# Ends a reservation (commit or release) in one statement, so the hot SKU's row is locked only while it runs.
# `held` locks the reference's reservation rows (a second end of the same reference waits here, then reads their
# state as the first left it); `locked` locks the stock rows of its active lines in SKU order, as every stock
# change does, so it cannot deadlock with a checkout. `moved` runs only once all of them are locked (its
# condition has no column of its own: a one-time filter, evaluated before it touches a row), and moves nothing if
# a SKU has lost its stock row; each moved line then ends its reservation (`ended`) and writes its ledger row
# (`ledger`). The database's constraints (0 <= reserved <= on_hand) check the levels again.
_END_SQL = f"""
    WITH held AS MATERIALIZED (
        SELECT r.id, r.sku, r.quantity, r.state, r.expires_at FROM {Reservation._meta.db_table} r
        WHERE r.reference = %(reference)s ORDER BY r.sku FOR UPDATE
    ), active AS MATERIALIZED (
        SELECT * FROM held WHERE state = 'active'
    ), locked AS MATERIALIZED (
        SELECT s.sku FROM {StockLevel._meta.db_table} s
        WHERE s.sku IN (SELECT sku FROM active) ORDER BY s.sku FOR UPDATE
    ), moved AS (
        UPDATE {StockLevel._meta.db_table} s
        SET on_hand = s.on_hand - a.quantity * %(commits)s, reserved = s.reserved - a.quantity, updated_at = %(now)s
        FROM active a
        WHERE s.sku = a.sku AND (SELECT count(*) FROM locked) = (SELECT count(*) FROM active)
        RETURNING a.id, s.sku, a.quantity, s.on_hand - s.reserved AS available
    ), ended AS (
        UPDATE {Reservation._meta.db_table} r SET state = %(to_state)s, updated_at = %(now)s
        FROM moved m WHERE r.id = m.id
    ), ledger AS (
        INSERT INTO {StockMovement._meta.db_table}
            (sku, kind, on_hand_delta, reserved_delta, reference, reason, user_id, created_at)
        SELECT sku, %(kind)s, -quantity * %(commits)s, -quantity, %(reference)s, %(reason)s, NULL, %(now)s
        FROM moved
    )
    SELECT h.sku, h.quantity, h.state, h.expires_at, m.available FROM held h LEFT JOIN moved m USING (sku)
    ORDER BY h.sku
"""  # noqa: S608


def stock_commit(*, reference: str) -> ReservationResult:
    """The order is paid: its reserved units leave the shelf (on_hand and reserved both drop). Idempotent; raises
    ReservationReleased if the units were released before (the caller must then not ship from stock)."""
    return _end(reference=reference, to_state=Reservation.State.COMMITTED)


def stock_release(*, reference: str, reason: str = "released") -> ReservationResult:
    """The order will not be paid: its units become available again. Idempotent, and a no-op after commit."""
    return _end(reference=reference, to_state=Reservation.State.RELEASED, reason=reason)


def reservation_get(*, reference: str) -> ReservationResult:
    rows = list(Reservation.objects.filter(reference=reference))
    if not rows:
        raise UnknownReservation(reference)
    return _result(reference, rows, changed=False)


def reservations_release_expired(*, now=None, limit: int = 500) -> list[str]:
    """Release every active reservation past its expiry and publish ``reservation.expired`` for each reference
    through the outbox (the order side cancels). Safe to run from many workers at once. Returns the references."""
    now = now or timezone.now()
    references = list(
        Reservation.objects.filter(state=Reservation.State.ACTIVE, expires_at__lte=now)
        .order_by("expires_at").values_list("reference", flat=True).distinct()[:limit]
    )
    released = []
    for reference in dict.fromkeys(references):
        with transaction.atomic():
            rows = list(Reservation.objects.select_for_update(skip_locked=True)
                        .filter(reference=reference, state=Reservation.State.ACTIVE, expires_at__lte=now))
            if not rows:  # committed meanwhile, or another worker has it
                continue
            result = stock_release(reference=reference, reason="reservation expired")
            if result.changed:
                _announce_ended(result)
                released.append(reference)
    return released


def reservation_release(*, reference: str, reason: str) -> ReservationResult:
    """Staff end a hold before its expiry: release it and announce ``reservation.expired`` as the expiry sweep
    does, so the order side settles the order it held units for (asks the gateway, then confirms or cancels)
    instead of leaving it pending with no stock behind it. Idempotent: a hold already ended announces nothing."""
    with transaction.atomic():
        result = stock_release(reference=reference, reason=reason)
        if result.changed:
            _announce_ended(result)
    return result


def _announce_ended(result: ReservationResult) -> None:
    outbox.publish(RESERVATION_EXPIRED, {
        "reference": result.reference,
        "lines": [{"sku": line.sku, "quantity": line.quantity} for line in result.lines],
    })


# ---------------------------------------------------------------- audit
def stock_invariant_violations() -> list[str]:
    """Every way the stock data breaks its rules, as readable lines (empty when all holds)."""
    problems = []
    ledger = selectors.ledger_sums()
    held = selectors.active_reserved_sums()
    for level in StockLevel.objects.all().iterator(chunk_size=2000):
        on_hand, reserved = ledger.get(level.sku, (0, 0))
        if (level.on_hand, level.reserved) != (on_hand, reserved):
            problems.append(f"{level.sku}: level on_hand={level.on_hand} reserved={level.reserved} but the ledger "
                            f"sums to on_hand={on_hand} reserved={reserved}")
        if level.reserved != held.get(level.sku, 0):
            problems.append(f"{level.sku}: reserved={level.reserved} but live reservations hold "
                            f"{held.get(level.sku, 0)}")
        if not 0 <= level.reserved <= level.on_hand:
            problems.append(f"{level.sku}: reserved={level.reserved} outside 0..on_hand={level.on_hand}")
    known = set(StockLevel.objects.values_list("sku", flat=True))
    problems.extend(f"{sku}: ledger rows for a SKU with no stock level" for sku in sorted(ledger.keys() - known))
    problems.extend(f"{sku}: live reservations for a SKU with no stock level" for sku in sorted(held.keys() - known))
    return problems


# ---------------------------------------------------------------- flash sales: the admission gate
def _gate_give_back(lines: dict[str, int]) -> None:
    try:
        gate.give_back(lines)
    except Exception:  # Redis down: the counters are rebuilt from stock when it is back
        logger.warning("flash-sale gate: could not return tokens for %s", lines, exc_info=True)


def gate_admit(*, lines: Mapping[str, int]) -> dict[str, int]:
    """Before a checkout touches PostgreSQL: take the gate's tokens for its flash-sale lines. A line that cannot
    have them is InsufficientStock at once (sold out); a sale not yet started is SaleNotStarted. Returns the
    tokens taken, to give back with ``gate_return`` if the checkout does not go through. Redis down: the gate
    steps aside (returns nothing taken) and the database's locks decide alone."""
    try:
        admission = gate.admit(dict(lines))
    except Exception:
        logger.warning("flash-sale gate unavailable; checkout goes to the database", exc_info=True)
        return {}
    if admission.not_started:
        sku = admission.not_started
        sale = FlashSale.objects.get(sku=sku)
        raise SaleNotStarted(f"The sale of {sku} starts at {sale.starts_at:%Y-%m-%d %H:%M} UTC.",
                             extra={"sku": sku, "starts_at": sale.starts_at.isoformat()})
    if admission.refused:
        sku, left = admission.refused
        raise InsufficientStock(sku, left, lines[sku])
    return admission.taken


def gate_return(*, taken: Mapping[str, int]) -> None:
    if taken:
        _gate_give_back(dict(taken))


def flash_sale_start(*, sku: str, at=None) -> dict:
    """Put a SKU behind the gate from ``at`` (now by default), loaded with its available stock."""
    if not StockLevel.objects.filter(sku=sku).exists():
        raise UnknownSku(sku)
    FlashSale.objects.update_or_create(sku=sku, defaults={"starts_at": at or timezone.now(), "active": True})
    gate.rebuild()
    return flash_sale_show(sku=sku)


def flash_sale_stop(*, sku: str) -> dict:
    FlashSale.objects.filter(sku=sku).update(active=False)
    gate.rebuild()
    return flash_sale_show(sku=sku)


def flash_sale_show(*, sku: str) -> dict:
    sale = FlashSale.objects.filter(sku=sku).first()
    levels = stock_levels(sku=sku)
    return {"sku": sku, "active": bool(sale and sale.active), "starts_at": sale.starts_at if sale else None,
            "tokens": gate.tokens(sku) if sale and sale.active else None, "available": levels.available}
