"""The orders app's public interface: order transitions (confirm, cancel, refund, ship) and order reads. The
checkout itself, which creates orders, is orders/checkout.py.

Compensation (subscribers: ``order_reservation_expired``, ``order_settle_payment``) runs from the outbox and never
cancels an order whose money was taken, nor keeps money without an order.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.postgres.aggregates import ArrayAgg
from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.crypto import salted_hmac

from catalog import services as catalog_services
from inventory import services as inventory_services
from inventory.types import ReservationReleased, UnknownReservation
from payments import services as payment_services
from payments.types import PaymentInFlight
from store.core import outbox
from store.core.addresses import same_address
from store.core.exceptions import ApplicationError, InvalidInput

from .models import Order, OrderEvent, OrderLine, OrderRefund, PromoCode, PromoCodeUse
from .types import (
    OrderLineView,
    OrderNotFound,
    OrderRefundView,
    OrderView,
    PromoCodeInfo,
    PromoCodeUnavailable,
    RestockInvalid,
    RestockRefused,
    ReturnableLine,
    ReturnableOrder,
    TransitionRefused,
    UnitsReturned,
)

logger = logging.getLogger(__name__)
Status = Order.Status
ORDER_PAID = "order.paid"
ORDER_CANCELLED = "order.cancelled"  # {"number", "reason", "notify"}: notify False when the shopper saw it happen
ORDER_REFUNDED = "order.refunded"  # {"number", "key", "amount", "full", "cancelled"}: once per recorded refund
ORDER_SHIPPED = "order.shipped"  # {"number"}
PAYMENT_UNKNOWN = "order.payment_unknown"
CART_CLEAR = "order.cart_clear"  # {"token"}: a paid order's cart that Redis could not empty at the time
ALLOWED = {
    Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED},
    Status.PAID: {Status.FULFILLED, Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.FULFILLED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    # A partly refunded order not yet shipped may still ship (order_fulfil refuses one that has shipped already).
    Status.PARTIALLY_REFUNDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED, Status.FULFILLED},
}
REFUNDABLE = (Status.PAID, Status.FULFILLED, Status.PARTIALLY_REFUNDED)
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone


# ---------------------------------------------------------------- helpers
def order_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def order_access_token(number: str) -> str:
    """The secret that opens an order for a guest (its link in the e-mail and the checkout's answer). Derived
    from the number with the shop's SECRET_KEY, so the e-mail and a replayed checkout can give it again; only its
    hash is stored, so an order made under an earlier key still opens with the token it was given."""
    return salted_hmac("orders.access-token", number, algorithm="sha256").hexdigest()[:32]


def order_new_number() -> str:
    code = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def _transition(order: Order, to: str, note: str = "") -> None:
    """The one way an order changes status: refused unless docs/design.md's states allow it; always recorded."""
    if to not in ALLOWED.get(order.status, set()):
        raise TransitionRefused(f"Order {order.number} is {order.get_status_display().lower()}; it cannot become "
                                f"{Status(to).label.lower()}.", extra={"number": order.number, "status": order.status})
    order.status = to
    order.save(update_fields=["status", "updated_at"])
    OrderEvent.objects.create(order=order, order_number=order.number, status=to, note=note[:255])
    if to in (Status.CANCELLED, Status.REFUNDED) and order.promo_code:
        _promo_give_back(order)


def promo_customers(*, user_id: int | None, email: str) -> tuple[str, ...]:
    """Whose uses of a code an order counts: the e-mail address's it was placed with and, signed in, the account's.
    Counting both keeps a code's uses per customer when its shopper checks out once signed in and once as a guest
    with the same address (either way round)."""
    email = email.strip().lower()
    return ((f"u:{user_id}",) if user_id is not None else ()) + ((f"e:{email}",) if email else ())


def _promo_give_back(order: Order) -> None:
    """A cancelled or fully refunded order gives its use of its code back (once: both states are final)."""
    promo = PromoCode.objects.filter(code=order.promo_code).first()
    if promo is None:
        return
    PromoCode.objects.filter(pk=promo.pk, uses__gt=0).update(uses=F("uses") - 1)
    PromoCodeUse.objects.filter(promo=promo, customer__in=promo_customers(user_id=order.user_id, email=order.email),
                                uses__gt=0).update(uses=F("uses") - 1)


def _locked(number: str) -> Order:
    order = Order.objects.select_for_update().filter(number=number).first()
    if order is None:
        raise OrderNotFound()
    return order


def _readable(orders):
    """``orders`` as the reads hand them out: lines and history prefetched, and each order's refunds (amounts and
    times, oldest first) read in the order's own statement, so showing them costs the order page nothing more."""
    refunds = OrderRefund.objects.filter(order=OuterRef("pk")).order_by().values("order")
    oldest_first = ("at", "id")
    return orders.prefetch_related("lines", "events").annotate(
        refund_amounts=Subquery(refunds.annotate(amounts=ArrayAgg("amount", order_by=oldest_first)).values("amounts")),
        refund_times=Subquery(refunds.annotate(times=ArrayAgg("at", order_by=oldest_first)).values("times")))


def _view(order: Order, *, lines=None, history=None, refunds=None) -> OrderView:
    """An order as services hand it out; ``lines`` (sku, name, unit price, quantity, total), ``history``
    (status, at) and ``refunds`` (amount, at) when already read (``_readable`` reads the refunds), else from its
    relations."""
    if lines is None:
        lines = ((line.sku, line.name, line.unit_price, line.quantity, line.line_total, line.discount, line.tax)
                 for line in order.lines.all())
    if history is None:
        history = ((event.status, event.at) for event in order.events.all())
    if refunds is None and hasattr(order, "refund_amounts"):
        refunds = zip(order.refund_amounts or (), order.refund_times or (), strict=True)
    elif refunds is None:
        # Only an order that was paid and moved on can hold a refund (recording one moves a paid order on): the
        # others, a declined checkout's cancelled order among them, are not asked.
        refunds = (((refund.amount, refund.at) for refund in order.refunds.all())
                   if order.status in (Status.FULFILLED, Status.PARTIALLY_REFUNDED, Status.REFUNDED) else ())
    return OrderView(
        number=order.number, status=order.status, email=order.email, currency=order.currency,
        subtotal=order.subtotal, shipping=order.shipping, total=order.total,
        shipping_address=order.shipping_address, user_id=order.user_id, created_at=order.created_at,
        discount=order.discount, tax=order.tax, tax_included=order.tax_included, tax_name=order.tax_name,
        shipping_method=order.shipping_method, shipping_method_name=order.shipping_method_name,
        promo_code=order.promo_code,
        lines=tuple(OrderLineView(sku=sku, name=name, unit_price=unit_price, quantity=quantity, line_total=total,
                                  discount=discount, tax=tax)
                    for sku, name, unit_price, quantity, total, discount, tax in lines),
        history=tuple(history),
        refunds=tuple(OrderRefundView(amount=amount, at=at) for amount, at in refunds),
    )


def order_body(order: OrderView, *, access_token: str = "") -> dict:
    """An order as the API shows it (docs/api.md)."""
    body = {
        "number": order.number, "status": order.status, "subtotal": f"{order.subtotal:.2f}",
        "discount": f"{order.discount:.2f}", "shipping": f"{order.shipping:.2f}", "tax": f"{order.tax:.2f}",
        "tax_name": order.tax_name, "tax_included": order.tax_included, "total": f"{order.total:.2f}",
        "currency": order.currency,
        "shipping_method": order.shipping_method, "promo_code": order.promo_code,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price": f"{line.unit_price:.2f}", "line_total": f"{line.line_total:.2f}"}
                  for line in order.lines],
        "history": [{"status": status, "at": at.isoformat()} for status, at in order.history],
    }
    if access_token:
        body["access_token"] = access_token
        body["url"] = f"/orders/{order.number}/?token={access_token}"
    return body


def order_view(*, number: str) -> OrderView:
    order = _readable(Order.objects.filter(number=number)).first()
    if order is None:
        raise OrderNotFound()
    return _view(order)


def order_confirm(*, number: str, note: str = "") -> OrderView:
    """The order is paid: it becomes PAID and its reserved units leave the shelf, in one transaction; the
    confirmation e-mail follows through the outbox. Idempotent. If the reservation had already expired, the units
    are reserved again; if they are gone by then, the money is refunded and the order cancelled. If the order was
    cancelled before the money arrived (staff, or the expiry, while the payment was in flight), the money goes back:
    every path that learns of a payment confirms through here, so no cancelled order keeps money.

    The order's row is locked first, as every transition of it is; the stock rows last, so that a sale's hot SKU is
    held only by the stock commit's one statement and the COMMIT, not by the order's bookkeeping."""
    try:
        with transaction.atomic():
            order = _transition_if(number, Status.PENDING_PAYMENT, Status.PAID, note, announce=ORDER_PAID)
            if order is not None:
                try:
                    inventory_services.stock_commit(reference=number)
                except (ReservationReleased, UnknownReservation):
                    if not _reserve_again(number, order.lines):
                        raise _Unfillable from None  # the order stays as it was: refunded below
                return order
    except _Unfillable:
        return _refund_unfillable(number)
    order = order_view(number=number)  # paid already, or moved on meanwhile
    if order.status == Status.CANCELLED:
        _refund_late_payment(number)
    return order


class _Unfillable(Exception):
    """A paid order whose units are gone: its transition to PAID is rolled back, and the money goes back."""


def _transition_if(number: str, current: str, to: str, note: str = "", *, announce: str) -> OrderView | None:
    """``_transition`` by number, in one statement: the order becomes ``to`` if it is still ``current`` (else None:
    it has moved on, or there is no such order), the change is recorded in its history, the event ``announce``
    ({"number": …}) is written to the outbox, and the order's view is read back, all in the same statement."""
    if to not in ALLOWED.get(current, set()):
        raise TransitionRefused(f"An order that is {Status(current).label.lower()} cannot become "
                                f"{Status(to).label.lower()}.", extra={"number": number, "status": current})
    now = timezone.now()
    order = next(iter(Order.objects.raw(_TRANSITION_SQL, {"number": number, "current": current, "to": to,
                                                          "note": note[:255], "now": now,
                                                          "outbox_topic": announce})), None)
    if order is None:
        return None
    outbox.published(order.announced_id, announce)
    return _view(order, lines=zip(order.line_skus, order.line_names, order.line_prices, order.line_quantities,
                                  order.line_totals, order.line_discounts, order.line_taxes, strict=True),
                 history=[*zip(order.event_statuses, order.event_times, strict=True), (to, now)])


# A compare-and-set transition. `moved` changes the order only if it is still in the expected status; its row lock
# is the one _locked takes, so it waits for a transition in flight and then matches nothing if that one moved the
# order on. `recorded` writes the history row, `announced` the outbox's event. The SELECT reads the rest of the
# view: the lines, and the history before this statement (a statement does not see its own inserts; the caller
# adds the new entry).
_TRANSITION_SQL = f"""
    WITH moved AS (
        UPDATE {Order._meta.db_table} SET status = %(to)s, updated_at = %(now)s
        WHERE number = %(number)s AND status = %(current)s
        RETURNING *
    ), recorded AS (
        INSERT INTO {OrderEvent._meta.db_table} (order_id, order_number, status, note, at)
        SELECT id, number, %(to)s, %(note)s, %(now)s FROM moved
    ), announced AS (
        {outbox.publish_sql(rows="moved", payload="jsonb_build_object('number', number)")}
    )
    SELECT moved.*, lines.*, events.*, (SELECT id FROM announced) AS announced_id FROM moved,
        LATERAL (SELECT coalesce(array_agg(sku ORDER BY id), '{{}}') AS line_skus,
                        coalesce(array_agg(name ORDER BY id), '{{}}') AS line_names,
                        coalesce(array_agg(unit_price ORDER BY id), '{{}}') AS line_prices,
                        coalesce(array_agg(quantity ORDER BY id), '{{}}') AS line_quantities,
                        coalesce(array_agg(line_total ORDER BY id), '{{}}') AS line_totals,
                        coalesce(array_agg(discount ORDER BY id), '{{}}') AS line_discounts,
                        coalesce(array_agg(tax ORDER BY id), '{{}}') AS line_taxes
                 FROM {OrderLine._meta.db_table} WHERE order_id = moved.id) AS lines,
        LATERAL (SELECT coalesce(array_agg(status ORDER BY at, id), '{{}}') AS event_statuses,
                        coalesce(array_agg(at ORDER BY at, id), '{{}}') AS event_times
                 FROM {OrderEvent._meta.db_table} WHERE order_id = moved.id) AS events
"""  # noqa: S608 (table names from our models; every value is a bound parameter)


def _refund_late_payment(number: str) -> None:
    """Money that arrived for an order already cancelled goes back in full, once (nothing to do if none was taken,
    or it has gone back already)."""
    if any(p.state in ("succeeded", "partially_refunded") and p.refunded_amount < p.amount
           for p in payment_services.payment_summaries(order_reference=number)):
        payment_services.payment_refund(order_reference=number, reason="paid after the order was cancelled",
                                        idempotency_key=f"refund-{number}-late")


def _reserve_again(number: str, lines: tuple[OrderLineView, ...]) -> bool:
    reference = f"{number}-R"
    try:
        with transaction.atomic():
            inventory_services.stock_reserve(reference=reference, lines={line.sku: line.quantity for line in lines})
            inventory_services.stock_commit(reference=reference)
    except ApplicationError:
        return False
    return True


def _refund_unfillable(number: str) -> OrderView:
    payment_services.payment_refund(order_reference=number, reason="sold out before the payment arrived",
                                    idempotency_key=f"refund-{number}-unfillable")
    with transaction.atomic():
        order = _locked(number)
        if order.status == Status.PENDING_PAYMENT:
            _transition(order, Status.CANCELLED, "paid after the stock was gone: refunded in full")
            outbox.publish(ORDER_CANCELLED, {"number": number, "reason": "sold out before your payment arrived; "
                                                                        "your money has been refunded in full"})
        return _view(order)


def order_cancel(*, number: str, note: str = "", restock: bool = True, notify: bool = True) -> OrderView:
    """Cancel: an unpaid order releases its stock; a paid one is refunded in full (its units back on the shelf
    when ``restock``). Idempotent: cancelling a cancelled or refunded order changes nothing. The shopper is told by
    e-mail (a paid order's with the amount refunded), unless ``notify`` is False: the shopper saw it on the page
    (a card declined at checkout, the payment page left), and was never given the order's number as an order.

    An unpaid order's payment may still be in flight (no answer yet, a Stripe page still open): it is settled with
    the provider first, voided there if it can be. Paid after all → the order is confirmed, then refunded like any
    paid order; still undecided (Stripe "processing") → PaymentInFlight, and nothing changes until it is decided.
    So no cancelled order keeps money. (Money that arrives for an order cancelled anyway is refunded when it is
    reported: subscribers.order_payment_succeeded.)"""
    if Order.objects.filter(number=number, status=Status.PENDING_PAYMENT).exists():
        charge = payment_services.payment_settle(order_reference=number, abandon=True)
        if charge is not None and charge.outcome not in ("succeeded", "declined"):
            raise PaymentInFlight(f"The payment of order {number} is not decided yet; it can be cancelled once the "
                                  "payment provider has settled it.", extra={"number": number})
        if charge is not None and charge.succeeded:
            order_confirm(number=number, note="payment confirmed by the gateway")
    with transaction.atomic():
        order = _locked(number)
        if order.status in (Status.CANCELLED, Status.REFUNDED):
            return _view(order)
        if order.status == Status.PENDING_PAYMENT:
            with contextlib.suppress(UnknownReservation):
                inventory_services.stock_release(reference=number, reason=note or "order cancelled")
            _transition(order, Status.CANCELLED, note)
            outbox.publish(ORDER_CANCELLED, {"number": number, "reason": note, "notify": notify})
            return _view(order)
    return order_refund(number=number, amount=None, restock=restock, note=note or "cancelled by staff",
                        notify=notify, cancellation=True)


def order_refund(*, number: str, amount: Decimal | None = None, restock: bool = False,
                 lines: dict[str, int] | None = None, note: str = "", key: str | None = None,
                 up_to_left: bool = False, notify: bool = True, cancellation: bool = False) -> OrderView:
    """Refund all (amount None) or part of a paid order. Units go back on the shelf when staff say so: exactly
    those named in ``lines`` (SKU -> quantity), or, with ``restock`` and no ``lines``, every unit not yet returned.
    A line never gives back more than was sold on it minus what earlier refunds returned: naming more, a SKU not
    on the order or a quantity below one is refused (RestockRefused, RestockInvalid) before any money moves.

    Once per ``key``: the provider makes the refund once (payments.services.payment_refund), and the order's side
    of it (units back, status, history) is recorded once, as an OrderRefund in one transaction. Sending a refund
    again finishes whatever a crash left undone and changes nothing else. The provider is asked with no lock held;
    the order's row is locked before, to check what can be refunded and returned, and after, to record it.
    ``up_to_left``: an amount above what is left to refund is cut to it (payments.services.payment_refund).
    The shopper is e-mailed the amount (ORDER_REFUNDED, published with the record, so once per refund) unless
    ``notify`` is False (a caller that tells them itself, such as a return); ``cancellation``: the refund is a paid
    order's cancellation, and the e-mail says so."""
    key = key or f"refund-{number}-{amount if amount is not None else 'all'}"
    paid_back = payment_services.payment_refund_amount(idempotency_key=key)
    # Sent before with no answer: the provider may have made it, and a webhook may have marked the order refunded
    # since. It is finished with its key (the provider refunds once), whatever the order says now.
    sent = bool(paid_back) or payment_services.payment_refund_state(idempotency_key=key) == "pending"
    with transaction.atomic():
        order = _locked(number)
        if OrderRefund.objects.filter(key=key).exists():
            return _view(order)  # this refund is done, on both sides
        if not sent:  # (a refund already made is finished below, whatever the order says now)
            if order.status not in REFUNDABLE:
                raise TransitionRefused(f"Order {number} is {order.status}; only a paid order can be refunded.")
            if lines:
                _restock_check(order, lines)
    if not paid_back:
        payment_services.payment_refund(order_reference=number, amount=amount, reason=note, idempotency_key=key,
                                        up_to_left=up_to_left)
        paid_back = payment_services.payment_refund_amount(idempotency_key=key)
    with transaction.atomic():
        order = _locked(number)
        if OrderRefund.objects.filter(key=key).exists():
            return _view(order)  # a concurrent send of the same refund recorded it
        # Checked again under this lock, which every refund's bookkeeping takes: a concurrent refund may have put
        # back the units named here while the money moved. The money is back with the shopper by now and cannot be
        # refused, so the refund is recorded all the same; its units are clamped to what is left (the other refund
        # already put them on the shelf, so restocking them again would create stock from nothing) and the order's
        # history says which units were not put back, for staff to see.
        restocked, short = _restock(order, lines) if restock or lines else ({}, {})
        OrderRefund.objects.create(order=order, order_number=order.number, key=key, amount=paid_back,
                                   restocked=restocked)
        shortfall = "; ".join(f"{sku} x{units}" for sku, units in short.items())
        event_note = note or f"refunded {paid_back}"
        if shortfall:
            event_note = f"{event_note}; not put back (already returned by another refund): {shortfall}"
        left = sum((p.amount - p.refunded_amount for p in payment_services.payment_summaries(order_reference=number)
                    if p.state in ("succeeded", "partially_refunded", "refunded")), Decimal("0.00"))
        target = Status.REFUNDED if left <= 0 else Status.PARTIALLY_REFUNDED
        if notify and paid_back:
            outbox.publish(ORDER_REFUNDED, {"number": number, "key": key, "amount": str(paid_back),
                                            "full": left <= 0, "cancelled": cancellation})
        # (a Stripe webhook may have recorded the full refund on the order meanwhile: nothing more to record then)
        if target in ALLOWED.get(order.status, set()) and (order.status != target or
                                                           target == Status.PARTIALLY_REFUNDED):
            _transition(order, target, event_note)
        else:
            OrderEvent.objects.create(order=order, order_number=order.number, status=order.status,
                                      note=event_note[:255])
        return _view(order)


def _restock_check(order: Order, lines: dict[str, int]) -> None:
    """Refuse units the order cannot give back, before any money moves. (Advisory: order_refund counts again
    under the lock when it puts them back.)"""
    sold: dict[str, int] = {}
    back: dict[str, int] = {}
    for line in order.lines.all():
        sold[line.sku] = sold.get(line.sku, 0) + line.quantity
        back[line.sku] = back.get(line.sku, 0) + line.returned_quantity
    for sku, quantity in lines.items():
        if sku not in sold:
            raise RestockInvalid(f"{sku} is not on order {order.number}.", extra={"sku": sku})
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise RestockInvalid(f"Units of {sku} to put back must be a whole number of at least 1, "
                                 f"not {quantity!r}.", extra={"sku": sku})
        left = sold[sku] - back[sku]
        if quantity > left:
            raise RestockRefused(f"Only {left} of {sku} left to put back ({sold[sku]} sold, {back[sku]} already "
                                 f"returned), not {quantity}.",
                                 extra={"sku": sku, "asked": quantity, "returnable": left})


def _restock(order: Order, lines: dict[str, int] | None) -> tuple[dict[str, int], dict[str, int]]:
    """Under the order's row lock, in the transaction that records the refund: put back the units named (every unit
    not yet returned when ``lines`` is None), never more than a line has left, and count them on the line. Returns,
    per SKU, the units put back and the units named that were no longer there to put back."""
    wanted = dict(lines) if lines is not None else None
    restocked: dict[str, int] = {}
    # Stock rows are locked in SKU order, as stock_reserve locks them, so two refunds (or a refund and a checkout)
    # sharing SKUs never wait on each other in a circle.
    for line in sorted(order.lines.all(), key=lambda line: (line.sku, line.pk)):
        left = line.quantity - line.returned_quantity
        units = left if wanted is None else min(left, wanted.get(line.sku, 0))
        if wanted is not None and line.sku in wanted:
            wanted[line.sku] -= units
        if units:
            line.returned_quantity += units
            line.save(update_fields=["returned_quantity"])
            inventory_services.stock_return(sku=line.sku, quantity=units, reference=order.number,
                                            reason="refund with restock")
            restocked[line.sku] = restocked.get(line.sku, 0) + units
    return restocked, {sku: units for sku, units in (wanted or {}).items() if units > 0}


def order_units_returned(*, number: str, reference: str, restock: Mapping[str, int],
                         written_off: Mapping[str, int]) -> UnitsReturned:
    """Units a shopper sent back have arrived (a return, named by ``reference``). Under the order's row lock, the
    one every refund's bookkeeping takes, each line counts them as returned, never more than it has left: units a
    refund with restock already put back are not put back again, and are reported as ``short``. The ``restock``
    units go back on the shelf through inventory's ledger (kind return, reference ``reference``, at most once per
    SKU); the ``written_off`` ones (damaged) only count as returned. Runs inside the caller's transaction when there
    is one, so the caller's record of the receipt commits with it, or nothing does."""
    with transaction.atomic():
        order = _locked(number)
        wanted = {sku: [restock.get(sku, 0), written_off.get(sku, 0)] for sku in {*restock, *written_off}}
        back: dict[str, int] = {}
        off: dict[str, int] = {}
        paid: dict[str, Decimal] = {}
        for line in sorted(order.lines.all(), key=lambda line: (line.sku, line.pk)):
            if line.sku not in wanted:
                continue
            left = line.quantity - line.returned_quantity
            shelf = min(left, wanted[line.sku][0])
            damaged = min(left - shelf, wanted[line.sku][1])
            wanted[line.sku][0] -= shelf
            wanted[line.sku][1] -= damaged
            if shelf or damaged:
                paid[line.sku] = paid.get(line.sku, Decimal("0.00")) + _paid_for_units(
                    order, line, returned=line.returned_quantity, more=shelf + damaged)
                line.returned_quantity += shelf + damaged
                line.save(update_fields=["returned_quantity"])
                back[line.sku] = back.get(line.sku, 0) + shelf
                off[line.sku] = off.get(line.sku, 0) + damaged
        for sku, units in sorted(back.items()):  # stock rows in SKU order, as every stock change locks them
            if units:
                inventory_services.stock_return(sku=sku, quantity=units, reference=reference, once=True,
                                                reason=f"return {reference}")
        short = {sku: shelf + damaged for sku, (shelf, damaged) in wanted.items() if shelf + damaged > 0}
        note = f"return {reference}: {sum(back.values())} unit(s) back on the shelf, {sum(off.values())} written off"
        if short:
            note += "; already returned by a refund: " + ", ".join(f"{sku} x{n}" for sku, n in sorted(short.items()))
        OrderEvent.objects.create(order=order, order_number=order.number, status=order.status, note=note[:255])
        return UnitsReturned(restocked={k: v for k, v in back.items() if v},
                             written_off={k: v for k, v in off.items() if v}, short=short, paid=paid)


def order_mark_refunded(*, number: str, full: bool, note: str) -> None:
    """Record a refund made at the gateway itself (not through order_refund)."""
    with transaction.atomic():
        order = _locked(number)
        target = Status.REFUNDED if full else Status.PARTIALLY_REFUNDED
        if order.status != target and target in ALLOWED.get(order.status, set()):
            _transition(order, target, note)


def order_fulfil(*, number: str, note: str = "shipped") -> OrderView:
    """Mark a paid order shipped; a partly refunded one too, unless it was shipped before its refund."""
    with transaction.atomic():
        order = _locked(number)
        if order.status == Status.PARTIALLY_REFUNDED and order.events.filter(status=Status.FULFILLED).exists():
            raise TransitionRefused(f"Order {order.number} has been shipped already.",
                                    extra={"number": order.number, "status": order.status})
        _transition(order, Status.FULFILLED, note)
        outbox.publish(ORDER_SHIPPED, {"number": number})
        return _view(order)


# ---------------------------------------------------------------- reading
def _may_see(order: Order | None, user_id: int | None, token: str, is_staff: bool) -> bool:
    return order is not None and bool(
        is_staff or (user_id is not None and order.user_id == user_id)
        or (token and hmac.compare_digest(order.access_token_hash, order_token_hash(token))))


def order_get(*, number: str, user_id: int | None = None, token: str = "", is_staff: bool = False) -> OrderView:
    """An order for its owner, staff, or whoever holds its secret token; anyone else gets OrderNotFound."""
    order = _readable(Order.objects.filter(number=number)).first()
    if not _may_see(order, user_id, token, is_staff):
        raise OrderNotFound()
    return _view(order)


def order_returnable(*, number: str, user_id: int | None = None, token: str = "", is_staff: bool = False,
                     lock: bool = False) -> ReturnableOrder:
    """An order as a return sees it (ReturnableOrder), for its owner, staff, or whoever holds its secret token;
    anyone else gets OrderNotFound. With ``lock``, inside the caller's transaction, its row is locked as every
    refund's bookkeeping locks it, so what is left to return cannot change until the caller commits."""
    orders = Order.objects.filter(number=number)
    order = (orders.select_for_update() if lock else orders).first()
    if not _may_see(order, user_id, token, is_staff):
        raise OrderNotFound()
    events = list(order.events.all())
    return ReturnableOrder(
        number=order.number, status=order.status, email=order.email, currency=order.currency,
        user_id=order.user_id,
        paid_at=next((event.at for event in events if event.status == Status.PAID), None),
        shipped_at=next((event.at for event in events if event.status == Status.FULFILLED), None),
        lines=tuple(ReturnableLine(sku=line.sku, name=line.name, unit_price=_paid_per_unit(order, line),
                                   quantity=line.quantity, returned=line.returned_quantity)
                    for line in order.lines.all()))


def _paid_for_units(order: Order, line: OrderLine, *, returned: int, more: int) -> Decimal:
    """What the shopper paid for ``more`` units of the line after the ``returned`` ones before them: the line's
    paid share of its first returned + more units less that of the first returned, each rounded to the cent, so
    however the line comes back, one unit at a time or all at once, it gives back exactly what it cost (25.00 for
    three units is 8.33, 8.34, 8.33, not 8.33 three times)."""
    line_paid = line.line_total - line.discount + (Decimal("0.00") if order.tax_included else line.tax)

    def share(units: int) -> Decimal:
        return (line_paid * units / line.quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    return share(returned + more) - share(returned)


def _paid_per_unit(order: Order, line: OrderLine) -> Decimal:
    """What the shopper paid for one unit of the line, to the cent (a return refunds this per unit): the line's
    total less its share of the promo discount, plus its tax when the prices did not hold it."""
    paid = line.line_total - line.discount + (Decimal("0.00") if order.tax_included else line.tax)
    return (paid / line.quantity).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def order_history(*, user_id: int) -> list[OrderView]:
    return [_view(order) for order in _readable(Order.objects.filter(user_id=user_id))]


# ---------------------------------------------------------------- promo codes
def _promo_info(promo: PromoCode) -> PromoCodeInfo:
    return PromoCodeInfo(code=promo.code, kind=promo.kind, value=promo.value, uses=promo.uses,
                         max_uses=promo.max_uses, max_uses_per_customer=promo.max_uses_per_customer,
                         min_subtotal=promo.min_subtotal, starts_at=promo.starts_at, ends_at=promo.ends_at,
                         is_active=promo.is_active)


def promo_code_problems(*, code: str, kind: str, value: Decimal | None, max_uses: int | None = None,
                        max_uses_per_customer: int | None = None, min_subtotal: Decimal | None = Decimal("0"),
                        starts_at=None, ends_at=None, products=(), categories=(), uses: int = 0) -> dict[str, str]:
    """What is wrong with a promo code's terms, field by field ({} if nothing): the one set of rules the admin's
    form and ``promo_code_create`` (the command) both apply, so neither can make a code that never works (one
    ending before it starts, usable 0 times, on a product the catalogue does not have) or that the database would
    refuse with a constraint's name. ``uses``: what the code has taken already (its limit cannot go below it)."""
    problems: dict[str, str] = {}
    code = (code or "").strip().upper()
    if not code or len(code) > 40 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in code):
        problems["code"] = "A code is 1 to 40 letters, digits, - or _ (no spaces)."
    if value is not None:
        if value <= 0 or (kind == PromoCode.Kind.PERCENT and value > 100):
            problems["value"] = "The discount must be above 0 (a percent at most 100)."
        elif value.as_tuple().exponent < -2:
            problems["value"] = "The discount has more than two decimals (whole cents, or hundredths of a percent)."
    if min_subtotal is not None and min_subtotal < 0:
        problems["min_subtotal"] = "Ensure this value is greater than or equal to 0."
    elif min_subtotal is not None and min_subtotal.as_tuple().exponent < -2:
        problems["min_subtotal"] = "The minimum subtotal has more than two decimals (whole cents)."
    for field, limit in (("max_uses", max_uses), ("max_uses_per_customer", max_uses_per_customer)):
        if limit is not None and limit < 1:
            problems[field] = "Must be at least 1 (empty: no limit; to stop a code, switch it off)."
    if max_uses is not None and "max_uses" not in problems and max_uses < uses:
        problems["max_uses"] = (f"This code has been used {uses} times already; its limit cannot be lower (switch "
                                "it off to stop it).")
    if starts_at and ends_at and ends_at <= starts_at:
        problems["ends_at"] = "A code must end after it starts (it would never be valid)."
    unknown_products, unknown_categories = catalog_services.slugs_unknown(products=products or (),
                                                                          categories=categories or ())
    if unknown_products:
        problems["products"] = f"The catalogue has no product {', '.join(unknown_products)}."
    if unknown_categories:
        problems["categories"] = f"The catalogue has no category {', '.join(unknown_categories)}."
    return problems


def promo_code_create(*, code: str, percent: Decimal | None = None, amount: Decimal | None = None,
                      uses: int | None = None, per_customer: int | None = None,
                      min_subtotal: Decimal = Decimal("0"), products=(), categories=(), starts_at=None,
                      ends_at=None) -> PromoCodeInfo:
    """A new code (percent or amount off, one of them); InvalidInput (naming the field) for a taken code or terms
    ``promo_code_problems`` refuses."""
    code = code.strip().upper()
    if (percent is None) == (amount is None):
        raise InvalidInput("Give either a percent or an amount.", extra={"field": "percent"})
    kind = PromoCode.Kind.PERCENT if percent is not None else PromoCode.Kind.AMOUNT
    value = percent if percent is not None else amount
    problems = promo_code_problems(code=code, kind=kind, value=value, max_uses=uses, max_uses_per_customer=per_customer,
                                   min_subtotal=min_subtotal, starts_at=starts_at, ends_at=ends_at,
                                   products=products, categories=categories)
    if problems:
        field, message = next(iter(problems.items()))
        raise InvalidInput(message, extra={"field": field})
    with transaction.atomic():
        if PromoCode.objects.filter(code=code).exists():
            raise InvalidInput(f"Code {code} exists already.", extra={"field": "code"})
        promo = PromoCode(code=code, kind=kind, value=value, max_uses=uses, max_uses_per_customer=per_customer,
                          min_subtotal=min_subtotal, products=list(products), categories=list(categories),
                          starts_at=starts_at, ends_at=ends_at)
        promo.save()
        promo.refresh_from_db()  # its amounts as stored (50 -> 50.00), as promo_code_get reads them
    return _promo_info(promo)


def promo_code_get(*, code: str) -> PromoCodeInfo:
    promo = PromoCode.objects.filter(code=code.strip().upper()).first()
    if promo is None:
        raise PromoCodeUnavailable(f"There is no promo code {code.strip().upper()}.", extra={"field": "promo_code"})
    return _promo_info(promo)


def order_claim_guest_orders(*, user_id: int, email: str) -> int:
    """Orders placed as a guest with this e-mail address (ASCII letters in any case, never a look-alike: see
    same_address) join the account's history; the caller has made sure the address is the account's own
    (confirmed by a link sent to it). Returns how many."""
    email = email.strip()
    if not email:
        return 0
    with transaction.atomic():
        found = Order.objects.select_for_update().filter(user_id__isnull=True, email__iexact=email).order_by("pk")
        claimed = [order for order in found if same_address(order.email, email)]  # never a look-alike's
        Order.objects.filter(pk__in=[order.pk for order in claimed]).update(user_id=user_id,
                                                                            updated_at=timezone.now())
        # A live order's use of its code now counts for the account as well, as if placed signed in: the account
        # is held to the code's uses per customer, and cancelling the order gives back the uses it holds.
        live = Counter(order.promo_code for order in claimed if order.promo_code
                       and order.status not in (Status.CANCELLED, Status.REFUNDED))
        for promo in PromoCode.objects.filter(code__in=live):
            use, _ = PromoCodeUse.objects.select_for_update().get_or_create(promo=promo, customer=f"u:{user_id}")
            PromoCodeUse.objects.filter(pk=use.pk).update(uses=F("uses") + live[promo.code])
    return len(claimed)


def orders_exist() -> bool:
    """Whether the shop has any order at all (seed_orders --if-empty)."""
    return Order.objects.exists()
