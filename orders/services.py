"""The orders app's public interface: the checkout saga (DESIGN.md), order transitions, and order reads.

    order_place: validate → claim the Idempotency-Key → re-read the cart's prices → one transaction: reserve the
    stock and create the order (PENDING_PAYMENT) → commit → charge (outside any lock) →
        paid: confirm + commit the stock, one transaction, and an outbox event for the e-mail → 201
        declined: cancel + release the stock, one transaction → 402
        no answer: the order stays PENDING_PAYMENT; compensation asks the gateway later → 202
Compensation (``order_reservation_expired``, ``order_settle_payment``) runs from the outbox and never cancels an
order whose money was taken, nor keeps money without an order.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_redis import get_redis_connection

from cart import services as cart_services
from cart.types import CartNotFound
from inventory import services as inventory_services
from inventory.types import ReservationReleased, UnknownReservation
from payments import services as payment_services
from store.core import outbox
from store.core.exceptions import ApplicationError, InvalidInput

from .models import CheckoutRequest, Order, OrderEvent, OrderLine
from .types import (
    Address,
    CheckoutAnswer,
    IdempotencyInProgress,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    OrderLineView,
    OrderNotFound,
    OrderView,
    RestockInvalid,
    RestockRefused,
    TransitionRefused,
)

logger = logging.getLogger(__name__)
Status = Order.Status
ORDER_PAID = "order.paid"
ORDER_CANCELLED = "order.cancelled"
PAYMENT_UNKNOWN = "order.payment_unknown"
ALLOWED = {
    Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED},
    Status.PAID: {Status.FULFILLED, Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.FULFILLED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
    Status.PARTIALLY_REFUNDED: {Status.PARTIALLY_REFUNDED, Status.REFUNDED},
}
KEY_MEMORY_S = 24 * 3600  # how long Redis remembers an Idempotency-Key for the gate (see _admit_new_key)
REFUNDABLE = (Status.PAID, Status.FULFILLED, Status.PARTIALLY_REFUNDED)
NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud over the phone
IN_FLIGHT_WAIT_S = 10


# ---------------------------------------------------------------- helpers
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_number() -> str:
    code = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def _transition(order: Order, to: str, note: str = "") -> None:
    """The one way an order changes status: refused unless DESIGN.md's states allow it; always recorded."""
    if to not in ALLOWED.get(order.status, set()):
        raise TransitionRefused(f"Order {order.number} is {order.get_status_display().lower()}; it cannot become "
                                f"{Status(to).label.lower()}.", extra={"number": order.number, "status": order.status})
    order.status = to
    order.save(update_fields=["status", "updated_at"])
    OrderEvent.objects.create(order=order, status=to, note=note[:255])


def _locked(number: str) -> Order:
    order = Order.objects.select_for_update().filter(number=number).first()
    if order is None:
        raise OrderNotFound()
    return order


def _view(order: Order) -> OrderView:
    return OrderView(
        number=order.number, status=order.status, email=order.email, currency=order.currency,
        subtotal=order.subtotal, shipping=order.shipping, total=order.total,
        shipping_address=order.shipping_address, user_id=order.user_id, created_at=order.created_at,
        lines=tuple(OrderLineView(sku=line.sku, name=line.name, unit_price=line.unit_price, quantity=line.quantity,
                                  line_total=line.line_total) for line in order.lines.all()),
        history=tuple((event.status, event.at) for event in order.events.all()),
    )


def order_body(order: OrderView, *, access_token: str = "") -> dict:
    """An order as the API shows it (API.md)."""
    body = {
        "number": order.number, "status": order.status, "total": f"{order.total:.2f}",
        "currency": order.currency,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price": f"{line.unit_price:.2f}", "line_total": f"{line.line_total:.2f}"}
                  for line in order.lines],
        "history": [{"status": status, "at": at.isoformat()} for status, at in order.history],
    }
    if access_token:
        body["access_token"] = access_token
        body["url"] = f"/orders/{order.number}/?token={access_token}"
    return body


# ---------------------------------------------------------------- validating a checkout
def _text(data: dict, field: str, *, required: bool = True, limit: int = 200) -> str:
    value = data.get(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text.", extra={"field": field})
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{field} is required.", extra={"field": field})
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters.", extra={"field": field})
    return value


def checkout_parse(body) -> tuple[str, str, Address, object, Decimal | None]:
    """A checkout body → (cart token, e-mail, address, payment details, expected total). Bad input is InvalidInput
    naming the field (400) and nothing has happened yet."""
    if not isinstance(body, dict):
        raise InvalidInput("The checkout must be a JSON object.")
    cart_token = _text(body, "cart_token", limit=100)
    email = _text(body, "email", limit=254)
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("Enter a valid e-mail address.", extra={"field": "email"}) from None
    raw = body.get("shipping_address")
    if not isinstance(raw, dict):
        raise InvalidInput("shipping_address is required.", extra={"field": "shipping_address"})
    address = Address(
        name=_text(raw, "name"), line1=_text(raw, "line1"), line2=_text(raw, "line2", required=False),
        city=_text(raw, "city", limit=100), postal_code=_text(raw, "postal_code", limit=20),
        country=_text(raw, "country", limit=2).upper(),
    )
    if not address.country.isalpha() or len(address.country) != 2:
        raise InvalidInput("country must be a two-letter code such as US or DE.",
                           extra={"field": "shipping_address.country"})
    payment = payment_services.payment_details_parse(body.get("payment"))
    expected = body.get("expected_total")
    try:
        expected = Decimal(str(expected)) if expected not in (None, "") else None
    except ArithmeticError:
        raise InvalidInput("expected_total must be a decimal amount.", extra={"field": "expected_total"}) from None
    return cart_token, email, address, payment, expected


# ---------------------------------------------------------------- the saga
def order_place(*, idempotency_key: str | None, body, user_id: int | None = None) -> CheckoutAnswer:
    """Check out a cart, once per Idempotency-Key: the same key and body always get the first answer again, and
    never a second order or charge; the same key with another body is refused (422)."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("Send an Idempotency-Key header (any unique string up to 255 characters).")
    if len(idempotency_key) > 255:
        raise InvalidInput("The Idempotency-Key may be at most 255 characters.", extra={"field": "Idempotency-Key"})
    request_hash = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    try:
        admitted = _admit_new_key(idempotency_key, body, user_id)
    except ApplicationError as exc:  # sold out (or not on sale yet) at the gate: PostgreSQL never saw it
        return CheckoutAnswer(status=exc.status, body=exc.as_dict())
    try:
        with transaction.atomic():
            CheckoutRequest.objects.create(key=idempotency_key, request_hash=request_hash)
    except BaseException as exc:
        inventory_services.gate_return(taken=admitted or {})
        if isinstance(exc, IntegrityError):
            return _replay(idempotency_key, request_hash)
        raise
    try:
        answer = _place(idempotency_key, body, user_id, admitted)
    except ApplicationError as exc:
        answer = CheckoutAnswer(status=exc.status, body=exc.as_dict())
    except Exception:
        # Nothing was placed (or a placed order is settled by its reservation's expiry): let a retry run again.
        CheckoutRequest.objects.filter(key=idempotency_key, order_number="").delete()
        raise
    CheckoutRequest.objects.filter(key=idempotency_key).update(
        response_status=answer.status, response_body=answer.body, completed_at=timezone.now())
    return answer


def _replay(key: str, request_hash: str) -> CheckoutAnswer:
    deadline = time.monotonic() + IN_FLIGHT_WAIT_S
    while True:
        existing = CheckoutRequest.objects.get(key=key)
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused("This Idempotency-Key was used with a different request.")
        if existing.response_status is not None:
            return CheckoutAnswer(status=existing.response_status, body=existing.response_body)
        if time.monotonic() > deadline:
            raise IdempotencyInProgress("A checkout with this Idempotency-Key is still in progress; retry shortly.")
        time.sleep(0.05)  # the first request with this key is still running: wait for its answer


def _admit_new_key(key: str, body, user_id: int | None) -> dict[str, int] | None:
    """The flash-sale gate, asked before PostgreSQL is touched at all when this Idempotency-Key is new to the shop:
    a sold-out checkout then costs Redis alone (the gate's refusal is raised, and not recorded: nothing happened,
    so the same key may ask again). Returns the tokens taken, or None to ask the gate after the claim as usual:
    a key seen before (its first answer is replayed, even when the SKU has sold out since), bad input (answered and
    recorded the usual way), or Redis down. Keys are remembered for a day; a retry after that, or after Redis lost
    them, of a checkout that went through while its SKU has since sold out is told "sold out" rather than shown
    its first answer (the order itself stands)."""
    try:
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        if not get_redis_connection("default").set(f"checkout:key:{digest}", 1, nx=True, ex=KEY_MEMORY_S):
            return None
    except Exception:
        logger.warning("checkout: idempotency keys unavailable in Redis; the gate is asked after the claim",
                       exc_info=True)
        return None
    try:
        quantities = cart_services.cart_quantities(token=checkout_parse(body)[0], user_id=user_id)
    except ApplicationError:
        return None
    return inventory_services.gate_admit(lines=quantities)


def _place(key: str, body, user_id: int | None, admitted: dict[str, int] | None) -> CheckoutAnswer:
    cart_token, email, address, payment, expected = checkout_parse(body)
    try:
        quantities = cart_services.cart_quantities(token=cart_token, user_id=user_id)
    except CartNotFound as exc:
        if admitted:
            inventory_services.gate_return(taken=admitted)
        raise _Refusal(404, "cart_not_found", "That cart does not exist (it may have expired).") from exc
    if admitted is None:
        # The flash-sale gate: a hot SKU without tokens is sold out before its stock rows are touched.
        admitted = inventory_services.gate_admit(lines=quantities)
    progress = {"reserved": False}
    try:
        return _place_admitted(key, cart_token, email, address, payment, expected, user_id, progress)
    except BaseException:
        if not progress["reserved"]:  # once reserved, a release gives the tokens back instead
            inventory_services.gate_return(taken=admitted)
        raise


def _place_admitted(key, cart_token, email, address, payment, expected, user_id, progress) -> CheckoutAnswer:
    cart = cart_services.cart_get(token=cart_token, user_id=user_id, fresh=True)  # prices from the catalogue
    if not cart.lines:
        raise _Refusal(400, "cart_empty", "Your cart is empty.")
    gone = [line for line in cart.lines if line.unit_price is None]
    if gone:
        raise _Refusal(409, "item_unavailable", f"{gone[0].name} is no longer sold; remove it from your cart.",
                       sku=gone[0].sku)
    total = cart.subtotal  # prices just re-read from the catalogue; shipping is free
    if expected is not None and expected != total:
        raise _Refusal(409, "price_changed", f"Prices changed since you looked: the total is now {total:.2f}.",
                       total=f"{total:.2f}", currency=cart.currency)
    token = secrets.token_urlsafe(24)
    for _ in range(5):
        number = _new_number()
        try:
            with transaction.atomic():
                inventory_services.stock_reserve(reference=number,
                                                 lines={line.sku: line.quantity for line in cart.lines})
                order = Order.objects.create(
                    number=number, email=email, user_id=user_id, currency=cart.currency, subtotal=cart.subtotal,
                    total=total, shipping_address=address.__dict__, access_token_hash=_token_hash(token))
                OrderLine.objects.bulk_create(
                    OrderLine(order=order, sku=line.sku, name=line.name, unit_price=line.unit_price,
                              quantity=line.quantity, line_total=line.line_total) for line in cart.lines)
                OrderEvent.objects.create(order=order, status=Status.PENDING_PAYMENT, note="checkout")
                CheckoutRequest.objects.filter(key=key).update(order_number=number)
            progress["reserved"] = True
            break
        except IntegrityError:  # an order number already taken (rare): draw another
            continue
    else:
        raise RuntimeError("could not draw a free order number")
    if total == 0:
        view = order_confirm(number=number, note="nothing to pay")
    else:
        charge = payment_services.payment_charge(order_reference=number, amount=total, currency=cart.currency,
                                                 card=payment, idempotency_key=f"order-{number}")
        if charge.outcome == "declined":
            order_cancel(number=number, note=f"payment declined: {charge.code}")
            return CheckoutAnswer(status=402, body={
                "code": "payment_declined", "message": charge.message or "Your card was declined.",
                "number": number, "decline_code": charge.code, "retryable": charge.retryable})
        if charge.outcome == "unknown":
            with transaction.atomic():
                outbox.publish(PAYMENT_UNKNOWN, {"number": number})
            view = _view(Order.objects.get(number=number))
            return CheckoutAnswer(status=202, body={**order_body(view, access_token=token), "status": "processing"})
        view = order_confirm(number=number, note="payment succeeded")
    cart_services.cart_clear(token=cart_token)
    return CheckoutAnswer(status=201, body=order_body(view, access_token=token))


class _Refusal(ApplicationError):
    def __init__(self, status: int, code: str, message: str, **extra):
        super().__init__(message, extra=extra)
        self.status, self.code = status, code


def order_confirm(*, number: str, note: str = "") -> OrderView:
    """The order is paid: it becomes PAID and its reserved units leave the shelf, in one transaction; the
    confirmation e-mail follows through the outbox. Idempotent. If the reservation had already expired, the units
    are reserved again; if they are gone by then, the money is refunded and the order cancelled."""
    with transaction.atomic():
        order = _locked(number)
        if order.status != Status.PENDING_PAYMENT:
            return _view(order)
        try:
            inventory_services.stock_commit(reference=number)
            fillable = True
        except (ReservationReleased, UnknownReservation):
            fillable = _reserve_again(order)
        if fillable:
            _transition(order, Status.PAID, note)
            outbox.publish(ORDER_PAID, {"number": number})
            return _view(order)
    return _refund_unfillable(number)


def _reserve_again(order: Order) -> bool:
    reference = f"{order.number}-R"
    try:
        with transaction.atomic():
            inventory_services.stock_reserve(reference=reference,
                                             lines={line.sku: line.quantity for line in order.lines.all()})
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


def order_cancel(*, number: str, note: str = "", restock: bool = True) -> OrderView:
    """Cancel: an unpaid order releases its stock; a paid one is refunded in full (its units back on the shelf
    when ``restock``). Idempotent: cancelling a cancelled or refunded order changes nothing."""
    with transaction.atomic():
        order = _locked(number)
        if order.status in (Status.CANCELLED, Status.REFUNDED):
            return _view(order)
        if order.status == Status.PENDING_PAYMENT:
            with contextlib.suppress(UnknownReservation):
                inventory_services.stock_release(reference=number, reason=note or "order cancelled")
            _transition(order, Status.CANCELLED, note)
            outbox.publish(ORDER_CANCELLED, {"number": number, "reason": note})
            return _view(order)
    return order_refund(number=number, amount=None, restock=restock, note=note or "cancelled by staff")


def order_refund(*, number: str, amount: Decimal | None = None, restock: bool = False,
                 lines: dict[str, int] | None = None, note: str = "", key: str | None = None) -> OrderView:
    """Refund all (amount None) or part of a paid order. Units go back on the shelf when staff say so: exactly
    those named in ``lines`` (SKU -> quantity), or, with ``restock`` and no ``lines``, every unit not yet returned.
    A line never gives back more than was sold on it minus what earlier refunds returned: naming more, a SKU not
    on the order or a quantity below one is refused (RestockRefused, RestockInvalid) before any money moves.
    Idempotent for the same ``key`` (units are put back by the call that refunds the money, once). The payment
    provider is asked with no lock held (payments.services.payment_refund); the order's row is locked before, to
    check it can be refunded and what is left to return, and after, to record it and put the units back."""
    with transaction.atomic():
        order = _locked(number)
        if order.status not in REFUNDABLE:
            raise TransitionRefused(f"Order {number} is {order.status}; only a paid order can be refunded.")
        if lines:
            _restock_check(order, lines)
    refunded = payment_services.payment_refund(
        order_reference=number, amount=amount, reason=note,
        idempotency_key=key or f"refund-{number}-{amount if amount is not None else 'all'}")
    with transaction.atomic():
        order = _locked(number)
        # Checked again under this lock, which every refund's bookkeeping takes: a concurrent refund may have put
        # back the units named here while the money moved. The money is back with the shopper by now and cannot be
        # refused, so the refund is recorded all the same; its units are clamped to what is left (the other refund
        # already put them on the shelf, so restocking them again would create stock from nothing) and the order's
        # history says which units were not put back, for staff to see.
        short = _restock(order, lines) if refunded and (restock or lines) else {}
        shortfall = "; ".join(f"{sku} x{units}" for sku, units in short.items())
        event_note = note or f"refunded {refunded}"
        if shortfall:
            event_note = f"{event_note}; not put back (already returned by another refund): {shortfall}"
        left = sum((p.amount - p.refunded_amount for p in payment_services.payment_summaries(order_reference=number)
                    if p.state in ("succeeded", "partially_refunded", "refunded")), Decimal("0.00"))
        target = Status.REFUNDED if left <= 0 else Status.PARTIALLY_REFUNDED
        # (a Stripe webhook may have recorded the full refund on the order meanwhile: nothing more to record then)
        if refunded and (order.status != target or target == Status.PARTIALLY_REFUNDED):
            _transition(order, target, event_note)
        elif shortfall:
            OrderEvent.objects.create(order=order, status=order.status, note=event_note[:255])
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


def _restock(order: Order, lines: dict[str, int] | None) -> dict[str, int]:
    """Under the order's row lock, in the transaction that records the refund: put back the units named (every unit
    not yet returned when ``lines`` is None), never more than a line has left, and count them on the line. Returns,
    per SKU, the units named that were no longer there to put back."""
    wanted = dict(lines) if lines is not None else None
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
    return {sku: units for sku, units in (wanted or {}).items() if units > 0}


def order_mark_refunded(*, number: str, full: bool, note: str) -> None:
    """Record a refund made at the gateway itself (not through order_refund)."""
    with transaction.atomic():
        order = _locked(number)
        target = Status.REFUNDED if full else Status.PARTIALLY_REFUNDED
        if order.status != target and target in ALLOWED.get(order.status, set()):
            _transition(order, target, note)


def order_fulfil(*, number: str, note: str = "shipped") -> OrderView:
    with transaction.atomic():
        order = _locked(number)
        _transition(order, Status.FULFILLED, note)
        return _view(order)


# ---------------------------------------------------------------- reading
def order_get(*, number: str, user_id: int | None = None, token: str = "", is_staff: bool = False) -> OrderView:
    """An order for its owner, staff, or whoever holds its secret token; anyone else gets OrderNotFound."""
    order = Order.objects.filter(number=number).prefetch_related("lines", "events").first()
    if order is None:
        raise OrderNotFound()
    allowed = (is_staff or (user_id is not None and order.user_id == user_id)
               or (token and hmac.compare_digest(order.access_token_hash, _token_hash(token))))
    if not allowed:
        raise OrderNotFound()
    return _view(order)


def order_history(*, user_id: int) -> list[OrderView]:
    return [_view(order) for order in Order.objects.filter(user_id=user_id).prefetch_related("lines", "events")]
