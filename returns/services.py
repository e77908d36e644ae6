"""The returns app's public interface: a shopper asks to send units back, staff approve or reject it, receive the
parcel and refund it.

States: requested → approved → received → refunded, or rejected (by staff, before receipt), or cancelled (by the
shopper, before receipt). Every step is idempotent: pressing it again, or two staff pressing it at once, changes
nothing more. Stock follows the parcel: units go back on the shelf only when received, through orders'
``order_units_returned`` (inventory's ledger, kind return, the return's number as reference), in the transaction
that records the receipt under the return's row lock. Money follows the goods: the refund is computed (what was paid
for the units received, to the cent as the order counted them, minus the reason's restocking fee)
and made through orders' ``order_refund`` with one key
per return, so the provider refunds once and never more than is left on the order.

Locks, always in this order: the return's row, then the order's (orders), then the stock rows (inventory).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from orders import services as order_services
from orders.types import OrderNotFound, ReturnableOrder, TransitionRefused
from payments import services as payment_services
from payments.types import NothingLeftToRefund, RefundRefused
from store.core import outbox

from . import selectors
from .models import Return, ReturnEvent, ReturnLine
from .types import (
    REASONS,
    InvalidReturn,
    ReturnableLine,
    ReturnLineView,
    ReturnNotFound,
    ReturnOptions,
    ReturnRefused,
    ReturnRequest,
    ReturnStepRefused,
    ReturnView,
)

logger = logging.getLogger(__name__)
Status = Return.Status
RETURN_REQUESTED = "return.requested"  # outbox: {"number", "kind"} — each of these sends the shopper an e-mail
RETURN_APPROVED = "return.approved"
RETURN_REJECTED = "return.rejected"
RETURN_REFUNDED = "return.refunded"
MAILED = (RETURN_REQUESTED, RETURN_APPROVED, RETURN_REJECTED, RETURN_REFUNDED)
RETURNABLE_ORDERS = ("paid", "fulfilled", "partially_refunded")
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_UNITS = 1000
MAX_LINES = 100
MAX_NOTE = 1000
MAX_STAFF_NOTE = 255
CENT = Decimal("0.01")


# ---------------------------------------------------------------- parsing
def return_parse(data) -> ReturnRequest:
    """A return's body (docs/api.md: ``{"lines": [{"sku", "quantity"}], "reason", "note"}``) → ReturnRequest; anything
    wrong is InvalidReturn naming the field, before anything is read or stored."""
    if not isinstance(data, dict):
        raise InvalidReturn("The body must be an object with lines and a reason.", extra={"field": "lines"})
    raw = data.get("lines")
    if not isinstance(raw, list) or not raw:
        raise InvalidReturn("lines must be a list of at least one {sku, quantity}.", extra={"field": "lines"})
    if len(raw) > MAX_LINES:
        raise InvalidReturn(f"A return has at most {MAX_LINES} lines.", extra={"field": "lines"})
    lines: dict[str, int] = {}
    for i, line in enumerate(raw):
        if not isinstance(line, dict):
            raise InvalidReturn("Each line must be an object with sku and quantity.", extra={"field": f"lines[{i}]"})
        sku, quantity = line.get("sku"), line.get("quantity")
        if not isinstance(sku, str) or not sku.strip() or len(sku) > 64:
            raise InvalidReturn("sku must be the SKU of a line of the order.", extra={"field": f"lines[{i}].sku"})
        lines[sku] = lines.get(sku, 0) + _units(quantity, f"lines[{i}].quantity")  # (more than bought: 409 later)
    reason = data.get("reason")
    if reason not in REASONS:
        raise InvalidReturn(f"reason must be one of: {', '.join(REASONS)}.", extra={"field": "reason"})
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        raise InvalidReturn(f"note must be text of at most {MAX_NOTE} characters.", extra={"field": "note"})
    return ReturnRequest(lines=lines, reason=reason, note=note.strip())


def _units(value, field: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidReturn(f"{field} must be a whole number, not {value!r}."[:200], extra={"field": field})
    if value < (0 if allow_zero else 1) or value > MAX_UNITS:
        least = 0 if allow_zero else 1
        raise InvalidReturn(f"{field} must be between {least} and {MAX_UNITS}, not {value}.", extra={"field": field})
    return value


# ---------------------------------------------------------------- what may be returned
def _window_ends(order: ReturnableOrder):
    start = order.shipped_at or order.paid_at
    return start + timedelta(days=settings.RETURN_WINDOW_DAYS) if start else None


def _options(order: ReturnableOrder) -> ReturnOptions:
    asked = selectors.units_asked_for(order_number=order.number)
    lines = []
    for line in order.lines:
        left = max(line.left - asked.get(line.sku, 0), 0)
        asked[line.sku] = max(asked.get(line.sku, 0) - line.left, 0)  # (a SKU on two lines: ask once)
        lines.append(ReturnableLine(sku=line.sku, name=line.name, unit_price=line.unit_price,
                                    quantity=line.quantity, left=left))
    ends = _window_ends(order)
    nothing_left = order.status in ("cancelled", "pending_payment", "refunded") or not any(line.left for line in lines)
    closed = ""
    if order.status == "cancelled":
        closed = "This order was cancelled, so there is nothing to return."
    elif order.status == "pending_payment":
        closed = "This order is not paid yet, so there is nothing to return."
    elif order.status == "refunded":
        closed = "This order was refunded in full, so there is nothing left to return."
    elif order.status not in RETURNABLE_ORDERS or ends is None:
        closed = "This order cannot be returned."
    elif timezone.now() > ends:
        closed = (f"The {settings.RETURN_WINDOW_DAYS}-day return window of this order closed on "
                  f"{ends:%d %B %Y}.")
    elif not any(line.left for line in lines):
        closed = "Every item of this order has been returned or is on a return already."
    return ReturnOptions(order_number=order.number, currency=order.currency, lines=tuple(lines), closed=closed,
                         window_ends=ends, nothing_left=nothing_left)


def return_options(*, order_number: str, user_id: int | None = None, token: str = "",
                   is_staff: bool = False) -> ReturnOptions:
    """What the order's shopper may return now (OrderNotFound for anyone who may not see the order)."""
    return _options(order_services.order_returnable(number=order_number, user_id=user_id, token=token,
                                                    is_staff=is_staff))


# ---------------------------------------------------------------- the shopper
def return_request(*, order_number: str, request: ReturnRequest, user_id: int | None = None,
                   token: str = "") -> ReturnView:
    """The order's owner (or the holder of its secret link) asks to send units back: a return numbered ``R-…``,
    requested, and an e-mail with instructions through the outbox. Refused (nothing stored) for an order they may
    not see (OrderNotFound), a SKU not on it or more units than are left to return (InvalidReturn / ReturnRefused),
    or an order outside its window, unpaid, cancelled or refunded (ReturnRefused). The order's row is locked while
    it is checked and the return stored, so two requests (or a refund with restock) cannot take the same units."""
    with transaction.atomic():
        order = order_services.order_returnable(number=order_number, user_id=user_id, token=token, lock=True)
        options = _options(order)
        if options.closed:
            raise ReturnRefused(options.closed, extra={"number": order_number})
        by_sku = {line.sku: line for line in options.lines}
        for i, (sku, units) in enumerate(request.lines.items()):
            line = by_sku.get(sku)
            if line is None:
                raise InvalidReturn(f"{sku} is not on order {order_number}.", extra={"field": f"lines[{i}].sku"})
            if units > line.left:
                raise ReturnRefused(f"Only {line.left} of {sku} can be returned ({line.quantity} bought, the rest "
                                    f"returned or on a return already), not {units}.",
                                    extra={"field": f"lines[{i}].quantity", "sku": sku, "returnable": line.left})
        ret = _create(order, request, by_sku)
        ReturnEvent.objects.create(ret=ret, status=Status.REQUESTED, note="requested by the shopper")
        outbox.publish(RETURN_REQUESTED, {"number": ret.number, "kind": "requested"})
    return return_view(number=ret.number)


def _create(order: ReturnableOrder, request: ReturnRequest, by_sku: dict[str, ReturnableLine]) -> Return:
    for _ in range(5):  # a number already taken (1 in 10^11 per pair) is drawn again
        try:
            with transaction.atomic():
                ret = Return(number=_new_number(), order_number=order.number, user_id=order.user_id,
                             email=order.email, currency=order.currency, reason=request.reason, note=request.note)
                ret.full_clean()
                ret.save()
        except IntegrityError:
            continue
        ReturnLine.objects.bulk_create(
            ReturnLine(ret=ret, sku=sku, name=by_sku[sku].name, unit_price=by_sku[sku].unit_price, quantity=units)
            for sku, units in sorted(request.lines.items()))
        return ret
    raise RuntimeError("could not draw a free return number")


def _new_number() -> str:
    return "R-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def return_cancel(*, number: str, user_id: int | None = None, token: str = "") -> ReturnView:
    """The shopper withdraws a return before the parcel arrives. Idempotent; refused once it has been received."""
    return_get(number=number, user_id=user_id, token=token)  # 404 for anyone else
    with transaction.atomic():
        ret = _locked(number)
        if ret.status == Status.CANCELLED:
            return _view(ret)
        if ret.status not in (Status.REQUESTED, Status.APPROVED):
            raise ReturnStepRefused(f"Return {number} is {ret.status}; only a return not yet received can be "
                                    "cancelled.", extra={"number": number, "status": ret.status})
        _move(ret, Status.CANCELLED, "cancelled by the shopper")
        return _view(ret)


# ---------------------------------------------------------------- staff
def return_approve(*, number: str, by: str = "") -> ReturnView:
    """Staff accept a requested return: the shopper is told to send the parcel. Idempotent (approving it again, or
    once it has moved on to received or refunded, changes nothing); refused for a rejected or cancelled one."""
    with transaction.atomic():
        ret = _locked(number)
        if ret.status in (Status.APPROVED, Status.RECEIVED, Status.REFUNDED):
            return _view(ret)
        if ret.status != Status.REQUESTED:
            raise _step_refused(ret, "approved")
        _move(ret, Status.APPROVED, f"approved{_by(by)}")
        outbox.publish(RETURN_APPROVED, {"number": number, "kind": "approved"})
        return _view(ret)


def return_reject(*, number: str, reason: str, by: str = "") -> ReturnView:
    """Staff refuse a return not yet received, saying why (the shopper is told by e-mail). Idempotent."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_STAFF_NOTE:
        raise InvalidReturn(f"Say why the return is rejected, in at most {MAX_STAFF_NOTE} characters.",
                            extra={"field": "reason"})
    with transaction.atomic():
        ret = _locked(number)
        if ret.status == Status.REJECTED:
            return _view(ret)
        if ret.status not in (Status.REQUESTED, Status.APPROVED):
            raise _step_refused(ret, "rejected")
        ret.staff_note = reason
        _move(ret, Status.REJECTED, f"rejected{_by(by)}: {reason}")
        outbox.publish(RETURN_REJECTED, {"number": number, "kind": "rejected"})
        return _view(ret)


def return_receive(*, number: str, damaged: dict[str, int] | None = None, received: dict[str, int] | None = None,
                   by: str = "") -> ReturnView:
    """The parcel of an approved return arrives. Every requested unit is received unless ``received`` names fewer
    for a SKU; of those, the ``damaged`` ones are written off and the rest go back on the shelf, exactly once:
    under the return's row lock, in one transaction with the return's new status (orders.order_units_returned).
    Units a refund with restock already put back meanwhile are not received again (nor refunded twice). Idempotent:
    receiving a received or refunded return changes nothing; refused before approval or after rejection."""
    damaged, received = dict(damaged or {}), dict(received or {})
    with transaction.atomic():
        ret = _locked(number)
        if ret.status in (Status.RECEIVED, Status.REFUNDED):
            return _view(ret)
        if ret.status != Status.APPROVED:
            raise _step_refused(ret, "received", hint=" (approve it first)" if ret.status == Status.REQUESTED else "")
        lines = {line.sku: line for line in ret.lines.all()}
        for field, named in (("received", received), ("damaged", damaged)):
            for sku, units in named.items():
                if sku not in lines:
                    raise InvalidReturn(f"{sku} is not on return {number}.", extra={"field": field, "sku": sku})
                _units(units, field, allow_zero=True)
        got = {sku: received.get(sku, line.quantity) for sku, line in lines.items()}
        for sku, units in got.items():
            if units > lines[sku].quantity:
                raise InvalidReturn(f"Only {lines[sku].quantity} of {sku} were asked for, not {units}.",
                                    extra={"field": "received", "sku": sku})
            if damaged.get(sku, 0) > units:
                raise InvalidReturn(f"Only {units} of {sku} arrived; {damaged[sku]} cannot be damaged.",
                                    extra={"field": "damaged", "sku": sku})
        counted = order_services.order_units_returned(
            number=ret.order_number, reference=ret.number,
            restock={sku: units - damaged.get(sku, 0) for sku, units in got.items()},
            written_off={sku: damaged.get(sku, 0) for sku in got})
        for sku, line in lines.items():
            line.restocked = counted.restocked.get(sku, 0)
            line.received = line.restocked + counted.written_off.get(sku, 0)
            line.paid = counted.paid.get(sku, Decimal("0.00"))
            line.save(update_fields=["received", "restocked", "paid"])
        note = f"received{_by(by)}: {sum(counted.restocked.values())} restocked, " \
               f"{sum(counted.written_off.values())} written off"
        if counted.short:
            note += "; already returned by a refund: " + ", ".join(f"{s} x{n}" for s, n in counted.short.items())
        _move(ret, Status.RECEIVED, note)
        return _view(ret)


def return_refund(*, number: str, by: str = "") -> ReturnView:
    """Refund a received return: what was paid for the units received, minus the reason's restocking fee
    (RETURN_RESTOCKING_FEES), never more than is left to refund on the order. Once per return: the money moves
    through orders.order_refund with the key ``return-<number>`` (the provider refunds once, however often or
    concurrently this is sent; a key the provider refused for good is followed by a new one, see _refund_key), with
    no lock held; the return then becomes refunded, once, and the shopper gets an
    e-mail with the amount. Refused before receipt; a refunded return answers with what it refunded."""
    ret = _get(number)
    if ret.status == Status.REFUNDED:
        return _view(ret)
    if ret.status != Status.RECEIVED:
        raise _step_refused(ret, "refunded", hint=" (receive it first)" if ret.status == Status.APPROVED else "")
    goods = sum((line.unit_price * line.received if line.paid is None else line.paid
                 for line in ret.lines.all()), Decimal("0.00"))
    fee = _fee(ret.reason, goods, ret.currency)
    key = _refund_key(number)
    note = ""
    if goods - fee > 0:
        try:
            # (notify=False: the return's own e-mail tells the shopper the amount, with the fee)
            order_services.order_refund(number=ret.order_number, amount=goods - fee, key=key, up_to_left=True,
                                        note=f"return {number}{_by(by)}", notify=False)
        except NothingLeftToRefund:  # staff refunded the order's money meanwhile (the goods came back all the same)
            note = "; nothing was left to refund on the order"
        except TransitionRefused:
            if order_services.order_returnable(number=ret.order_number, is_staff=True).status != "refunded":
                raise
            note = "; the order had been refunded in full already"
            if payment_services.payment_refund_state(idempotency_key=key) == "pending":
                # This refund was sent and its answer lost, so the provider may have made it; the order was marked
                # refunded meanwhile (a webhook reported the money back, this refund's with it). Finished with its
                # key (the provider refunds once), so the return records what it gave back, not 0.00. (Refused:
                # it never moved any money, and the order's is all back.)
                with contextlib.suppress(RefundRefused):
                    payment_services.payment_refund(order_reference=ret.order_number, amount=goods - fee,
                                                    reason=f"return {number}{_by(by)}", idempotency_key=key,
                                                    up_to_left=True)
                    note = ""
    paid = payment_services.payment_refund_amount(idempotency_key=key)
    with transaction.atomic():
        ret = _locked(number)
        if ret.status == Status.RECEIVED:  # (a concurrent send of this refund may have recorded it)
            ret.refund_amount, ret.fee = paid, fee
            _move(ret, Status.REFUNDED, f"refunded {paid} {ret.currency}{_by(by)}{note}")
            outbox.publish(RETURN_REFUNDED, {"number": number, "kind": "refunded"})
        return _view(ret)


def _refund_key(number: str) -> str:
    """The key this return's money is sent with: ``return-<number>``, or, once the provider has refused it for good
    (no money moved, and that key never will), ``return-<number>-2`` and so on. A key is only ever left behind once
    it has failed, so two sends at once agree on the key, and the return is never stuck on a refusal."""
    key, attempt = f"return-{number}", 1
    while payment_services.payment_refund_state(idempotency_key=key) == "failed":
        attempt += 1
        key = f"return-{number}-{attempt}"
    return key


def _fee(reason: str, goods: Decimal, currency: str) -> Decimal:
    """The reason's restocking fee, to the cent, and so much more that the refund (goods - fee) is an amount the
    currency can pay (whole yen: 10% of 999 JPY is a fee of 100, not 99.90, which the provider would be sent as 899
    while 899.10 was recorded)."""
    percent = Decimal(str(settings.RETURN_RESTOCKING_FEES.get(reason, 0)))
    fee = min((goods * percent / 100).quantize(CENT, rounding=ROUND_HALF_UP), goods)
    if not payment_services.payment_amount_exact(amount=goods - fee, currency=currency):
        fee = goods - (goods - fee).quantize(Decimal("1"), rounding=ROUND_DOWN)
    return fee


# ---------------------------------------------------------------- reading
def return_view(*, number: str) -> ReturnView:
    """A return by number, for staff, commands and the services' own answers (no access check)."""
    return _view(_get(number))


def return_get(*, number: str, user_id: int | None = None, token: str = "", is_staff: bool = False) -> ReturnView:
    """A return for its order's owner, staff, or whoever holds the order's secret token; others ReturnNotFound."""
    ret = selectors.returns_with_lines().filter(number=number).first()
    if ret is None:
        raise ReturnNotFound()
    if not (is_staff or (user_id is not None and ret.user_id == user_id)):
        try:
            order_services.order_returnable(number=ret.order_number, token=token)
        except OrderNotFound:
            raise ReturnNotFound() from None
    return _view(ret)


def returns_of_order(*, order_number: str) -> list[ReturnView]:
    """The returns of an order, newest first (for a page that has already checked who may see the order)."""
    return [_view(ret) for ret in selectors.returns_with_lines().filter(order_number=order_number)]


def returns_of_user(*, user_id: int) -> list[ReturnView]:
    return [_view(ret) for ret in selectors.returns_with_lines().filter(user_id=user_id)]


def return_body(ret: ReturnView) -> dict:
    """A return as the API shows it (docs/api.md)."""
    return {
        "number": ret.number, "order": ret.order_number, "status": ret.status, "reason": ret.reason,
        "note": ret.note, "currency": ret.currency,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity, "received": line.received,
                   "restocked": line.restocked, "unit_price": f"{line.unit_price:.2f}"} for line in ret.lines],
        "refund_amount": None if ret.refund_amount is None else f"{ret.refund_amount:.2f}",
        "rejection_reason": ret.staff_note,
        "history": [{"status": status, "at": at.isoformat()} for status, at, _ in ret.history],
    }


# ---------------------------------------------------------------- helpers
def _get(number: str) -> Return:
    ret = Return.objects.filter(number=number).first()
    if ret is None:
        raise ReturnNotFound()
    return ret


def _locked(number: str) -> Return:
    ret = Return.objects.select_for_update().filter(number=number).first()
    if ret is None:
        raise ReturnNotFound()
    return ret


def _move(ret: Return, to: str, note: str) -> None:
    ret.status = to
    ret.save(update_fields=["status", "staff_note", "refund_amount", "fee", "updated_at"])
    ReturnEvent.objects.create(ret=ret, status=to, note=note[:255])


def _step_refused(ret: Return, step: str, hint: str = "") -> ReturnStepRefused:
    return ReturnStepRefused(f"Return {ret.number} is {ret.status}; it cannot be {step}{hint}.",
                             extra={"number": ret.number, "status": ret.status})


def _by(who: str) -> str:
    return f" by {who}" if who else ""


def _view(ret: Return) -> ReturnView:
    return ReturnView(
        number=ret.number, order_number=ret.order_number, status=ret.status, reason=ret.reason, note=ret.note,
        staff_note=ret.staff_note, currency=ret.currency, email=ret.email, user_id=ret.user_id, fee=ret.fee,
        refund_amount=ret.refund_amount, created_at=ret.created_at,
        lines=tuple(ReturnLineView(sku=line.sku, name=line.name, unit_price=line.unit_price, quantity=line.quantity,
                                   received=line.received, restocked=line.restocked) for line in ret.lines.all()),
        history=tuple((event.status, event.at, event.note) for event in ret.events.all()),
    )
