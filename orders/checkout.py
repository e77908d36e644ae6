"""Checkout, from the request's body to the committed order, in the order docs/design.md's saga runs:

    checkout_submit (the API's and the page's one entry)
        parse the body once → the cart's quantities (Redis alone) → admission (the flash-sale gate's tokens,
        always given back unless the reservation took them) → claim the Idempotency-Key (or replay its answer)
    checkout_place (the use case: typed values in, a PlacedOrder out, typed errors raised)
        price the cart from the catalogue → reserve the stock and create the order, one transaction → charge, no
        lock held →
        paid: confirm (services.order_confirm) | declined: cancel | no answer yet: compensation settles it later
        (services' subscribers) | the provider's page: the shopper pays there, the webhook or their return settles it

Errors are ApplicationErrors carrying their HTTP status; ``_answer`` turns a result or an error into the one
(status, body) pair that both the API and the page use, and that the key replays.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from cart import services as cart_services
from cart.types import CartEstimate, CartNotFound, CartPromo
from catalog import services as catalog_services
from inventory import services as inventory_services
from inventory.types import InsufficientStock, SaleNotStarted
from payments import services as payment_services
from payments.types import ReturnUrls, StartedPayment
from shipping import services as shipping_services
from shipping.types import ShippingQuote, ShippingUnavailable, TaxQuote
from store.core import outbox
from store.core.exceptions import ApplicationError, InvalidInput

from . import idempotency, queue
from .models import CheckoutRequest, Order, OrderEvent, OrderLine, PromoCode, PromoCodeUse
from .services import (
    CART_CLEAR,
    PAYMENT_UNKNOWN,
    Status,
    order_access_token,
    order_body,
    order_cancel,
    order_confirm,
    order_new_number,
    order_token_hash,
    order_view,
    promo_customers,
)
from .types import (
    Address,
    CartEmpty,
    CheckoutAnswer,
    CheckoutInput,
    CheckoutQuote,
    ItemUnavailable,
    OrderCancelled,
    OrderLineView,
    OrderView,
    PaymentDeclined,
    PlacedOrder,
    PriceChanged,
    PromoCodeUnavailable,
)

logger = logging.getLogger(__name__)
MAX_TOTAL = Decimal("9999999999.99")  # what an order's amount columns hold


# ---------------------------------------------------------------- the edge: parse, admit, idempotency, answer
def checkout_submit(*, key: str | None, body, user_id: int | None, urls: ReturnUrls | None = None,
                    queued: bool = False) -> CheckoutAnswer:
    """Check out once per Idempotency-Key: the same key and body get the first answer again, never a second order
    or charge. ``urls``: where Stripe's hosted page sends the shopper back (the page's checkout passes them).
    Past CHECKOUT_QUEUE_AFTER checkouts in flight it waits in line (202 + poll URL) unless it is the line's own
    (``queued``). Never raises an ApplicationError: every refusal is an answer."""
    try:
        key = idempotency.key_checked(key)
        data = checkout_parse(body)
        owner = idempotency.owner_of(user_id=user_id, cart_token=data.cart_token)
        if not queued and not queue.checkout_slot_take():
            return queue.checkout_enqueue(owner=owner, key=key, body=body, user_id=user_id,
                                          urls=urls and urls.__dict__)
    except ApplicationError as exc:
        return _answer(exc)  # nothing happened: nothing to remember
    try:
        return _revealed(_submit(key, owner, body, data, user_id, urls))
    finally:
        if not queued:
            queue.checkout_slot_give()


def checkout_run_queued(*, ticket: str) -> int:
    """Run one checkout that waited in line (the `checkout` Celery task); its answer is kept for the poll."""
    job = queue.checkout_job(ticket=ticket)
    if job is None:  # expired before its turn: out of the line
        queue.checkout_answered(ticket=ticket, answer=CheckoutAnswer(status=404, body={
            "code": "checkout_expired", "message": "This checkout waited too long; please check out again."}))
        return 404
    urls = ReturnUrls(**job["urls"]) if job.get("urls") else None
    answer = checkout_submit(key=job["key"], body=job["body"], user_id=job["user_id"], urls=urls, queued=True)
    queue.checkout_answered(ticket=ticket, answer=answer)
    return answer.status


def checkout_poll(*, ticket: str) -> CheckoutAnswer:
    """A queued checkout's place in line, then its answer (from its key, if the line lost it)."""
    return _revealed(queue.checkout_poll(ticket=ticket, stored_answer=lambda job: idempotency.stored_answer(
        owner=job["owner"], key=job["key"], from_order=_order_as_it_stands)))


def _submit(key: str, owner: str, body, data: CheckoutInput, user_id: int | None,
            urls: ReturnUrls | None) -> CheckoutAnswer:
    try:
        quantities = _quantities(data.cart_token, user_id)
    except ApplicationError as exc:
        return _answer(exc)  # (Redis down: nothing happened)
    request_hash = idempotency.fingerprint(body)
    try:
        with _admission(quantities) as admission:
            claim = idempotency.claim(owner=owner, key=key, request_hash=request_hash)
            if not claim.fresh:
                return idempotency.replay(claim, from_order=_answer_for_order,
                                          run_again=lambda again: _run(again, data, user_id, urls, admission))
            return _run(claim, data, user_id, urls, admission)
    except (InsufficientStock, SaleNotStarted) as refusal:  # at the gate: PostgreSQL never saw it
        if not idempotency.remembered(owner=owner, key=key):
            return _answer(refusal)
        # A retry of a checkout the gate let through before: its own answer, not "sold out".
        return _answer(lambda gate=refusal: _replay_without_admission(owner, key, request_hash, gate))
    except ApplicationError as exc:  # the key: used with another body, or still in flight
        return _answer(exc)


def _run(claim: idempotency.Claim, data: CheckoutInput, user_id: int | None, urls: ReturnUrls | None,
         admission: _Admission) -> CheckoutAnswer:
    try:
        answer = _answer(lambda: checkout_place(data=data, customer=user_id, lines=admission.lines, urls=urls,
                                                key_id=claim.id, on_reserved=lambda number: admission.keep()))
    except BaseException:
        # Before an order existed nothing happened: the key may run again. After, the key answers from its order.
        with contextlib.suppress(Exception):
            claim.give_back()
        with contextlib.suppress(Exception):
            claim.unlock()
        raise
    return claim.finish(answer)


def _replay_without_admission(owner: str, key: str, request_hash: str, refusal: ApplicationError) -> CheckoutAnswer:
    claim = idempotency.claim(owner=owner, key=key, request_hash=request_hash)

    def refuse(again: idempotency.Claim) -> CheckoutAnswer:  # never placed, and sold out now
        again.give_back()
        again.unlock()
        raise refusal

    return refuse(claim) if claim.fresh else idempotency.replay(claim, from_order=_answer_for_order,
                                                                run_again=refuse)


def _revealed(answer: CheckoutAnswer) -> CheckoutAnswer:
    """A stored answer keeps no secret (orders keep only its hash): the order's link is derived again for the one
    whose key it is."""
    number = answer.body.get("number")
    if answer.status not in (201, 202) or not number or "access_token" in answer.body:
        return answer
    token = order_access_token(number)
    return CheckoutAnswer(status=answer.status, retry_after=answer.retry_after,
                          body={**answer.body, "access_token": token, "url": f"/orders/{number}/?token={token}"})


def _answer(outcome) -> CheckoutAnswer:
    """The one mapping to HTTP: a placed order (201 paid, 202 still being paid) or an error's own status."""
    try:
        result = outcome() if callable(outcome) else outcome
    except ApplicationError as exc:
        result = exc
    if isinstance(result, ApplicationError):
        retry_after = getattr(result, "retry_after", None) or (5 if result.status in (429, 503) else None)
        return CheckoutAnswer(status=result.status, body=result.as_dict(), retry_after=retry_after)
    body = order_body(result.order, access_token=result.access_token)
    if result.order.status == Status.PENDING_PAYMENT:
        body["status"] = "processing"
        if result.redirect_url:
            body["status"] = "requires_payment"
            body["next_action"] = {"type": "redirect_to_url", "url": result.redirect_url}
        elif result.client_secret:  # Stripe.js finishes it (handleNextAction); the webhook then confirms
            body["status"] = "requires_action"
            body["next_action"] = {"type": "use_stripe_sdk", "client_secret": result.client_secret}
        return CheckoutAnswer(status=202, body=body)
    return CheckoutAnswer(status=201, body=body)


def _answer_for_order(number: str) -> CheckoutAnswer:
    """What a key whose first request is gone answers: its order, settled first if its payment was left undecided
    (the gateway is asked, as compensation would: paid → confirmed, declined → cancelled)."""
    order = order_view(number=number)
    charge = None
    if order.status == Status.PENDING_PAYMENT:
        charge = payment_services.payment_settle(order_reference=number)
        if charge is not None and charge.succeeded:
            order = order_confirm(number=number, note="payment confirmed by the gateway")
        elif charge is None or charge.outcome == "declined":
            order = order_cancel(number=number, note="payment declined" if charge else "never charged",
                                 notify=False)
    return _order_as_it_stands(number, order, redirect_url=charge.redirect_url if charge else "")


def _order_as_it_stands(number: str, order: OrderView | None = None, *, redirect_url: str = "") -> CheckoutAnswer:
    order = order or order_view(number=number)
    if order.status == Status.CANCELLED:
        return _answer(PaymentDeclined("The payment did not go through; the order was cancelled.",
                                       extra={"number": number}))
    return _answer(PlacedOrder(order=order, access_token=order_access_token(number), redirect_url=redirect_url))


class _Admission:
    def __init__(self, lines: Mapping[str, int] | None, taken: Mapping[str, int]):
        self.lines, self.taken, self.kept = lines, dict(taken), False

    def keep(self) -> None:
        """The reservation holds the units now: its release gives the tokens back, not this."""
        self.kept = True


@contextlib.contextmanager
def _admission(lines: Mapping[str, int] | None):
    """The flash-sale gate, before PostgreSQL: a hot SKU without tokens is InsufficientStock at once. Whatever
    happens inside, tokens not taken over by a reservation go back."""
    admission = _Admission(lines, inventory_services.gate_admit(lines=lines) if lines else {})
    try:
        yield admission
    finally:
        if not admission.kept:
            inventory_services.gate_return(taken=admission.taken)


def _quantities(token: str, user_id: int | None) -> dict[str, int] | None:
    """What the cart holds, from Redis alone (the gate answers a sold-out checkout before PostgreSQL is touched);
    None if there is no such cart (a replay's cart may be gone: its key answers; a new checkout is refused)."""
    try:
        return cart_services.cart_quantities(token=token, user_id=user_id)
    except CartNotFound:
        return None


# ---------------------------------------------------------------- parsing
def _text(data: dict, field: str, *, required: bool = True, limit: int = 200, name: str = "") -> str:
    value = data.get(field)
    name = name or field
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text.", extra={"field": name})
    value = " ".join(value.split())
    if required and not value:
        raise InvalidInput(f"{name} is required.", extra={"field": name})
    if len(value) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters.", extra={"field": name})
    return value


def checkout_parse(body) -> CheckoutInput:
    """A checkout body → CheckoutInput; anything malformed is InvalidInput naming the field (400), before anything
    has happened."""
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

    def part(field, **kw):
        return _text(raw, field, name=f"shipping_address.{field}", **kw)

    address = Address(name=part("name"), line1=part("line1"), line2=part("line2", required=False),
                      city=part("city", limit=100), postal_code=part("postal_code", limit=20),
                      country=part("country", limit=2).upper(), region=part("region", required=False, limit=60),
                      phone=part("phone", required=False, limit=30))
    if not address.country.isascii() or not address.country.isalpha() or len(address.country) != 2:
        raise InvalidInput("country must be a two-letter code such as US or DE.",
                           extra={"field": "shipping_address.country"})
    # A body without a region at all is a client of before regions (docs/api.md's first address): it keeps working.
    region, postal_code = shipping_services.address_checked(country=address.country, region=address.region,
                                                            postal_code=address.postal_code, city=address.city,
                                                            line1=address.line1, region_required="region" in raw)
    address = dataclasses.replace(address, region=region, postal_code=postal_code)
    payment = payment_services.payment_details_parse(body.get("payment"))
    return CheckoutInput(cart_token=cart_token, email=email, address=address, payment=payment,
                         expected_total=_amount(body.get("expected_total"), "expected_total"),
                         shipping_method=_text(body, "shipping_method", required=False, limit=40),
                         promo_code=_text(body, "promo_code", required=False, limit=40).upper())


def _amount(value, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or len(str(value)) > 20:
        raise InvalidInput(f"{field} must be a decimal amount such as \"12.50\".", extra={"field": field})
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0 or amount > MAX_TOTAL:
        raise InvalidInput(f"{field} must be a decimal amount such as \"12.50\".", extra={"field": field})
    return amount


# ---------------------------------------------------------------- the use case
def checkout_place(*, data: CheckoutInput, customer: int | None, lines: Mapping[str, int] | None,
                   urls: ReturnUrls | None = None, key_id: int | None = None,
                   on_reserved=lambda number: None) -> PlacedOrder:
    """Price, reserve, create, charge, confirm. ``lines``: SKU -> quantity, the cart as it was read once when the
    checkout came in (and as the flash-sale gate admitted it), None if there is no such cart: the order is for
    exactly those, at the catalogue's prices now (a cart never keeps a price). ``key_id``: the Idempotency-Key's
    claim, tied to the order by the statement that creates it. ``on_reserved(number)`` runs inside that
    transaction, once the stock is held."""
    priced = _priced(lines, data.expected_total, data=data, customer=customer)
    number, started = _reserve_and_create(data, priced, customer, key_id, on_reserved)
    token = order_access_token(number)
    if priced.total == 0:
        return _paid(number, token, data.cart_token, note="nothing to pay")
    charge = payment_services.payment_charge(order_reference=number, amount=priced.total, currency=priced.currency,
                                             card=data.payment, idempotency_key=f"order-{number}",
                                             email=data.email, urls=_return_urls(urls, number), started=started)
    if charge.outcome == "succeeded":
        placed = _paid(number, token, data.cart_token, note="payment succeeded")
        if placed.order.status != Status.PAID:  # cancelled while the money moved (order_confirm gave it back)
            raise OrderCancelled("The order was cancelled while it was being paid; the payment has been refunded.",
                                 extra={"number": number})
        return placed
    if charge.outcome == "declined":
        order_cancel(number=number, note=f"payment declined: {charge.code}", notify=False)  # the page says so
        raise PaymentDeclined(charge.message or "Your card was declined.", extra={
            "number": number, "decline_code": charge.code, "retryable": charge.retryable})
    if charge.outcome == "unknown":  # no answer: compensation asks the gateway (services' subscribers)
        with transaction.atomic():
            outbox.publish(PAYMENT_UNKNOWN, {"number": number})
    return PlacedOrder(order=order_view(number=number), access_token=token, redirect_url=charge.redirect_url,
                       client_secret=charge.client_secret)


@dataclass(frozen=True)
class _Promo:
    id: int
    code: str
    per_customer: int | None
    customers: tuple[str, ...]  # whose uses the order counts (services.promo_customers)


@dataclass(frozen=True)
class _Priced:
    """What the order records and the payment provider is asked for: total = subtotal - discount + shipping + the
    tax unless the prices included it."""

    lines: tuple[OrderLineView, ...]  # in the cart page's order: by name
    total: Decimal
    currency: str
    subtotal: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")
    shipping: ShippingQuote = shipping_services.FREE
    tax: TaxQuote | None = None
    promo: _Promo | None = None
    weight: Decimal = Decimal("0")  # kg


def _priced(lines: Mapping[str, int] | None, expected: Decimal | None, *, data: CheckoutInput | None = None,
            customer: int | None = None) -> _Priced:
    priced, variants, subtotal = _lines_priced(lines)
    currency = settings.STORE_CURRENCY
    promo, discounts = None, [Decimal("0.00")] * len(priced)
    if data is not None and data.promo_code:
        promo, discounts = _discounted(data.promo_code, priced, subtotal, variants,
                                       promo_customers(user_id=customer, email=data.email))
    discount = sum(discounts, Decimal("0.00"))
    weight = sum((variants[line.sku].weight * line.quantity for line in priced), Decimal("0"))
    if data is None:
        quote, tax = shipping_services.FREE, None
    else:
        quote = shipping_services.shipping_quote(code=data.shipping_method, country=data.address.country,
                                                 subtotal=subtotal - discount, weight=weight)
        tax = shipping_services.tax_for(amounts=[line.line_total - off for line, off in zip(priced, discounts,
                                                                                            strict=True)],
                                        shipping=quote.price, country=data.address.country,
                                        region=data.address.region)
        priced = [dataclasses.replace(line, discount=off, tax=line_tax)
                  for line, off, line_tax in zip(priced, discounts, tax.lines, strict=True)]
    total = subtotal - discount + quote.price + (tax.added if tax else Decimal("0.00"))
    if expected is not None and expected != total:
        raise PriceChanged(f"Prices changed since you looked: the total is now {total:.2f}.",
                           extra={"total": f"{total:.2f}", "currency": currency})
    if total > MAX_TOTAL:
        raise InvalidInput("This order is too large to place at once; please split it.", extra={"field": "total"})
    if not payment_services.payment_amount_exact(amount=total, currency=currency):
        raise InvalidInput(f"{total} cannot be paid in {currency}, which has no such fractions; the shop's "
                           "prices need correcting.", extra={"field": "total"})
    return _Priced(lines=tuple(priced), total=total, currency=currency, subtotal=subtotal, discount=discount,
                   shipping=quote, tax=tax, promo=promo, weight=weight)


def _lines_priced(lines: Mapping[str, int] | None) -> tuple[list[OrderLineView], dict, Decimal]:
    """The cart's lines at the catalogue's prices now (by name, as the cart page shows them), the catalogue's
    variants and the subtotal. CartNotFound, CartEmpty, or ItemUnavailable for a line no longer sold."""
    if lines is None:
        raise CartNotFound()
    if not lines:
        raise CartEmpty("Your cart is empty.")
    variants = catalog_services.variant_prices(skus=list(lines))
    priced = []
    for sku, quantity in sorted(lines.items()):
        variant = variants.get(sku)
        if variant is None or not variant.is_active:
            name = variant.display_name if variant else sku
            raise ItemUnavailable(f"{name} is no longer sold; remove it from your cart.", extra={"sku": sku})
        priced.append(OrderLineView(sku=sku, name=variant.display_name, unit_price=variant.price, quantity=quantity,
                                    line_total=variant.price * quantity))
    priced.sort(key=lambda line: (line.name, line.sku))
    return priced, variants, sum((line.line_total for line in priced), Decimal("0.00"))


def _discounted(code: str, lines: list[OrderLineView], subtotal: Decimal, variants, customers: tuple[str, ...]
                ) -> tuple[_Promo, list[Decimal]]:
    """The code's discount, shared out over the lines it applies to in proportion to their totals (whole cents,
    the leftover cents to the largest remainders: no line gets more off than it costs, and the shares add up to
    the discount exactly). PromoCodeUnavailable if it cannot be used now. Its use is counted only when the order
    is created (_CREATE_ORDER_SQL), where a code used up meanwhile still refuses it."""
    promo = PromoCode.objects.filter(code=code).annotate(
        mine=Subquery(PromoCodeUse.objects.filter(promo=OuterRef("pk"), customer__in=customers)
                      .order_by("-uses").values("uses")[:1]),
    ).first()
    now = timezone.now()

    def refuse(why: str):
        raise PromoCodeUnavailable(f"Promo code {code} {why}.", extra={"field": "promo_code"})

    if promo is None or not promo.is_active:
        refuse("does not exist")
    if promo.starts_at and promo.starts_at > now:
        refuse("is not valid yet")
    if promo.ends_at and promo.ends_at <= now:
        refuse("has expired")
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        refuse("has been used up")
    if promo.max_uses_per_customer is not None and (promo.mine or 0) >= promo.max_uses_per_customer:
        refuse("has already been used as many times as it may be by one customer")
    if subtotal < promo.min_subtotal:
        refuse(f"needs an order of at least {promo.min_subtotal:.2f}")
    products, categories = set(promo.products), set(promo.categories)
    eligible = [not (products or categories) or variants[line.sku].product_slug in products
                or bool(categories & set(variants[line.sku].category_slugs)) for line in lines]
    base = sum((line.line_total for line, ok in zip(lines, eligible, strict=True) if ok), Decimal("0.00"))
    if base <= 0:
        refuse("does not apply to anything in your cart")
    off = (base * promo.value / 100).quantize(CENT, rounding=ROUND_HALF_UP) if promo.kind == PromoCode.Kind.PERCENT \
        else min(promo.value, base)
    shares = [(off * line.line_total / base if ok else Decimal("0")) for line, ok in zip(lines, eligible,
                                                                                          strict=True)]
    floors = [share.quantize(CENT, rounding=ROUND_FLOOR) for share in shares]
    left = int((off - sum(floors, Decimal("0.00"))) / CENT)
    for i in sorted(range(len(lines)), key=lambda i: (floors[i] - shares[i], i))[:left]:
        floors[i] += CENT
    return _Promo(id=promo.pk, code=promo.code, per_customer=promo.max_uses_per_customer,
                  customers=customers), floors


CENT = Decimal("0.01")


def _reserve_and_create(data: CheckoutInput, priced: _Priced, customer: int | None, key_id: int | None,
                        on_reserved) -> tuple[str, StartedPayment | None]:
    """One transaction: the stock is held (all lines or none, InsufficientStock otherwise), the order and its lines
    exist as PENDING_PAYMENT with their payment recorded, its promo code's use is counted, the key stands for it,
    and ``on_reserved`` has run. Returns the order's number and its payment (none when there is nothing to pay).
    A code used up meanwhile is PromoCodeUnavailable, and nothing of this happened."""
    for _ in range(5):
        number = order_new_number()
        try:
            with transaction.atomic():
                _create_order(number, data, priced, customer, key_id)
                started = payment_services.payment_start(
                    order_reference=number, amount=priced.total, currency=priced.currency, card=data.payment,
                    idempotency_key=f"order-{number}") if priced.total else None
                # The stock last: a sale's hot SKU stays locked only from here to the COMMIT.
                inventory_services.stock_reserve(reference=number,
                                                 lines={line.sku: line.quantity for line in priced.lines})
                on_reserved(number)
            return number, started
        except IntegrityError as exc:
            if not _number_taken(exc):
                raise  # any other constraint is a fault to see, not a reason to draw again
            continue  # an order number already taken (rare): draw another
    raise RuntimeError("could not draw a free order number")


def _number_taken(exc: IntegrityError) -> bool:
    """Whether the IntegrityError is the order number's uniqueness (and not, say, a check on the totals)."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    if not name:
        return False
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Order._meta.db_table)
    return constraints.get(name, {}).get("unique", False) and constraints[name].get("columns") == ["number"]


def _create_order(number: str, data: CheckoutInput, priced: _Priced, customer: int | None,
                  key_id: int | None) -> None:
    """The order as PENDING_PAYMENT, its lines, its first history row, its promo code's use (overall and the
    shopper's, each only while under its limit: else no order, PromoCodeUnavailable) and the Idempotency-Key's
    claim pointing at it, in one statement (a number already taken is an IntegrityError)."""
    promo, tax = priced.promo, priced.tax
    with connection.cursor() as cursor:
        cursor.execute(_CREATE_ORDER_SQL, {
            "number": number, "key_id": key_id, "email": data.email, "user_id": customer,
            "status": Status.PENDING_PAYMENT, "currency": priced.currency, "subtotal": priced.subtotal,
            "shipping": priced.shipping.price, "discount": priced.discount,
            "tax": tax.total if tax else Decimal("0.00"), "tax_included": bool(tax and tax.included),
            "tax_name": tax.name if tax else "Tax",
            "method": priced.shipping.code, "method_name": priced.shipping.name,
            "promo_id": promo.id if promo else None, "promo_code": promo.code if promo else "",
            "customers": list(promo.customers) if promo else [],
            "per_customer": promo.per_customer if promo else None,
            "total": priced.total, "address": json.dumps(data.address.__dict__),
            "token_hash": order_token_hash(order_access_token(number)), "now": timezone.now(),
            "skus": [line.sku for line in priced.lines], "names": [line.name for line in priced.lines],
            "prices": [line.unit_price for line in priced.lines],
            "quantities": [line.quantity for line in priced.lines],
            "totals": [line.line_total for line in priced.lines],
            "discounts": [line.discount for line in priced.lines], "taxes": [line.tax for line in priced.lines]})
        if cursor.fetchone() is None:  # the code's last use went to another order meanwhile (or it was switched off)
            raise PromoCodeUnavailable(f"Promo code {promo.code} has been used up.", extra={"field": "promo_code"})


# `used` counts the promo code's use if it is still usable now and under its limit (the row lock makes concurrent
# checkouts take turns: the last one re-reads the count its predecessor committed); `counted` the shopper's own uses
# (the account's and the e-mail address's), each likewise under its limit; without a code both touch nothing and the
# order goes ahead. `placed` inserts the order, only if the code (when there is one) was counted overall and for
# every one of the shopper's keys; `lines` its lines, in the cart's order (their ids ascend
# in it, and lines are shown by id); `keyed` ties the Idempotency-Key's claim to it (none without a key); the last
# INSERT its first history row, and answers a row only if the order was placed (no row: the caller rolls back, so a
# use counted overall but refused for the shopper is undone). Columns that have a default in the models are given
# here, since SQL does not know Django's defaults (nothing returned yet).
_CREATE_ORDER_SQL = f"""
    WITH used AS (
        UPDATE {PromoCode._meta.db_table} SET uses = uses + 1
        WHERE id = %(promo_id)s AND is_active AND (max_uses IS NULL OR uses < max_uses)
          AND (starts_at IS NULL OR starts_at <= %(now)s) AND (ends_at IS NULL OR ends_at > %(now)s)
        RETURNING id
    ), counted AS (
        INSERT INTO {PromoCodeUse._meta.db_table} AS mine (promo_id, customer, uses)
        SELECT id, customer, 1 FROM used, unnest(%(customers)s::varchar[]) AS customer
        ON CONFLICT (promo_id, customer) DO UPDATE SET uses = mine.uses + 1
        WHERE %(per_customer)s::integer IS NULL OR mine.uses < %(per_customer)s::integer
        RETURNING promo_id
    ), placed AS (
        INSERT INTO {Order._meta.db_table} (number, email, user_id, status, currency, subtotal, shipping, discount,
                                            tax, tax_included, tax_name, total, shipping_method, shipping_method_name,
                                            promo_code, shipping_address, access_token_hash, created_at, updated_at)
        SELECT %(number)s, %(email)s, %(user_id)s, %(status)s, %(currency)s, %(subtotal)s, %(shipping)s,
               %(discount)s, %(tax)s, %(tax_included)s, %(tax_name)s, %(total)s, %(method)s, %(method_name)s,
               %(promo_code)s, %(address)s::jsonb, %(token_hash)s, %(now)s, %(now)s
        WHERE %(promo_id)s::bigint IS NULL
           OR (SELECT count(*) FROM counted) = cardinality(%(customers)s::varchar[])
        RETURNING id
    ), lines AS (
        INSERT INTO {OrderLine._meta.db_table}
            (order_id, order_number, sku, name, unit_price, quantity, line_total, discount, tax, returned_quantity)
        SELECT placed.id, %(number)s, line.sku, line.name, line.unit_price, line.quantity, line.line_total,
               line.discount, line.tax, 0
        FROM placed, unnest(%(skus)s::varchar[], %(names)s::varchar[], %(prices)s::numeric[],
                            %(quantities)s::integer[], %(totals)s::numeric[], %(discounts)s::numeric[],
                            %(taxes)s::numeric[])
                     WITH ORDINALITY AS line(sku, name, unit_price, quantity, line_total, discount, tax, position)
        ORDER BY line.position
    ), keyed AS (
        UPDATE {CheckoutRequest._meta.db_table} SET order_number = %(number)s WHERE id = %(key_id)s
    )
    INSERT INTO {OrderEvent._meta.db_table} (order_id, order_number, status, note, at)
    SELECT id, %(number)s, %(status)s, 'checkout', %(now)s FROM placed
    RETURNING order_id
"""  # noqa: S608 (table names from our models; every value is a bound parameter)


def _paid(number: str, token: str, cart_token: str, *, note: str) -> PlacedOrder:
    order = order_confirm(number=number, note=note)
    _empty_cart(number, cart_token)
    return PlacedOrder(order=order, access_token=token)


def _empty_cart(number: str, cart_token: str) -> None:
    """After the money has moved nothing may fail the checkout: a cart Redis cannot empty now is emptied later,
    through the outbox."""
    try:
        cart_services.cart_clear(token=cart_token)
    except Exception:
        logger.warning("order %s: cart not emptied now; the outbox will", number, exc_info=True)
        with transaction.atomic():
            outbox.publish(CART_CLEAR, {"token": cart_token})


# ---------------------------------------------------------------- shipping options
def checkout_shipping_options(*, country: str, cart_token: str = "", user_id: int | None = None
                              ) -> tuple[list[ShippingQuote], str]:
    """The methods that deliver to ``country``, cheapest first, priced for the cart (its subtotal and weight at the
    catalogue's prices now; an empty or unnamed cart: priced for nothing), and the currency."""
    country = country.strip().upper()
    if not country.isascii() or not country.isalpha() or len(country) != 2:
        raise InvalidInput("country must be a two-letter code such as US or DE.", extra={"param": "country"})
    if country not in dict(shipping_services.shipping_countries()):  # as the checkout refuses it
        raise InvalidInput(f"{country} is not a country we can ship to; pick one from the list.",
                           extra={"param": "country"})
    if len(cart_token) > 100:
        raise InvalidInput("cart_token is longer than 100 characters.", extra={"param": "cart_token"})
    subtotal, weight = Decimal("0.00"), Decimal("0")
    if cart_token:
        quantities = _quantities(cart_token, user_id)
        if quantities is None:
            raise CartNotFound()
        variants = catalog_services.variant_prices(skus=list(quantities))
        for sku, quantity in quantities.items():
            if sku in variants and variants[sku].is_active:
                subtotal += variants[sku].price * quantity
                weight += variants[sku].weight * quantity
    return shipping_services.shipping_quotes(country=country, subtotal=subtotal, weight=weight), settings.STORE_CURRENCY


def checkout_quote(*, cart_token: str, user_id: int | None, country: str, region: str = "", email: str = "",
                   shipping_method: str = "", promo_code: str = "") -> CheckoutQuote:
    """What checking out the cart would cost now, priced exactly as checkout_place prices it (the page shows it
    and sends its total as the expected one). A code that cannot be used, or a method that does not deliver
    there, is left out and said why (``promo_problem``, ``shipping_problem``). CartNotFound, CartEmpty,
    ItemUnavailable as the checkout would raise them."""
    country = (country or "").strip().upper()[:2]
    promo_code = (promo_code or "").strip().upper()[:40]
    lines = _quantities(cart_token, user_id)
    problems = {"promo": "", "shipping": ""}

    def price(method: str, code: str) -> _Priced:
        data = CheckoutInput(cart_token=cart_token, email=email or "quote@example.invalid",
                             address=Address(name="", line1="", city="", postal_code="", country=country,
                                             region=region or ""),
                             payment=None, shipping_method=method, promo_code=code)
        try:
            return _priced(lines, None, data=data, customer=user_id)
        except PromoCodeUnavailable as exc:
            problems["promo"] = exc.message
            return price(method, "")
        except ShippingUnavailable as exc:
            if not method:
                raise
            problems["shipping"] = exc.message
            return price("", code)

    priced = price(shipping_method or "", promo_code)
    methods = shipping_services.shipping_quotes(country=country, subtotal=priced.subtotal - priced.discount,
                                                weight=priced.weight)
    tax = priced.tax
    return CheckoutQuote(
        lines=priced.lines,
        subtotal=priced.subtotal, discount=priced.discount, shipping=priced.shipping.price,
        shipping_method=priced.shipping.code, shipping_name=priced.shipping.name, methods=tuple(methods),
        tax=tax.total if tax else Decimal("0.00"), tax_name=tax.name if tax else "Tax",
        tax_included=bool(tax and tax.included), total=priced.total, currency=priced.currency,
        promo_code=priced.promo.code if priced.promo else "", promo_problem=problems["promo"],
        shipping_problem=problems["shipping"])


def checkout_cart_promo(token: str, user_id: int | None, code: str) -> CartPromo:
    """The cart page's question (cart.services.cart_promo): what ``code`` takes off the cart, priced as the
    checkout prices it (its lines, its terms, the signed-in shopper's own uses; a guest's are known only once they
    give their e-mail address at checkout). A cart that cannot be priced now (an item no longer sold) shows no
    discount: the cart says why, and the checkout checks the code again."""
    code = code.strip().upper()[:40]
    try:
        lines, variants, subtotal = _lines_priced(_quantities(token, user_id))
        promo, discounts = _discounted(code, lines, subtotal, variants,
                                       promo_customers(user_id=user_id, email=""))
    except PromoCodeUnavailable as exc:
        return CartPromo(code=code, problem=exc.message)
    except ApplicationError:
        return CartPromo(code=code)
    return CartPromo(code=promo.code, discount=sum(discounts, Decimal("0.00")))


def checkout_cart_estimate(token: str, user_id: int, code: str) -> CartEstimate | None:
    """The cart page's estimate (cart.services.cart_estimate): the cart delivered to the signed-in shopper's default
    address, priced as checkout_quote prices it (the cheapest method, that place's tax, the code if it applies).
    None without a saved address, or when the cart cannot be priced now."""
    book = shipping_services.address_book(user_id=user_id)
    if not book:
        return None
    address = book[0]  # the default first
    try:
        quote = checkout_quote(cart_token=token, user_id=user_id, country=address.country, region=address.region,
                               promo_code=code)
    except ApplicationError:
        return None
    return CartEstimate(ship_to=", ".join(part for part in (address.city, address.region) if part),
                        shipping_name=quote.shipping_name, shipping=quote.shipping, tax_name=quote.tax_name,
                        tax=quote.tax, tax_included=quote.tax_included, total=quote.total)


# ---------------------------------------------------------------- back from the provider's payment page
def checkout_returned(*, number: str, cart_token: str | None) -> OrderView:
    """The shopper is back from Stripe's page: Stripe is asked what happened (its webhook may be on its way too;
    whichever comes first confirms the order, once). A paid order's cart is emptied."""
    charge = payment_services.payment_settle(order_reference=number)
    order = order_confirm(number=number, note="paid on Stripe's page") if charge and charge.succeeded \
        else order_view(number=number)
    if cart_token and order.status == Status.PAID:
        _empty_cart(number, cart_token)
    return order


def checkout_payment_url(*, number: str) -> str:
    """Where the shopper can still pay an order waiting for payment on the provider's page ("" if nowhere)."""
    charge = payment_services.payment_settle(order_reference=number)
    return charge.redirect_url if charge else ""


def _return_urls(urls: ReturnUrls | None, number: str) -> ReturnUrls:
    """Where Stripe's page sends the shopper back: the page's own URLs, or (a checkout through the API) the shop's
    return and cancel pages at STORE_URL; ``{number}`` in them becomes the order's."""
    urls = urls or ReturnUrls(success_url=f"{settings.STORE_URL}/checkout/return/?number={{number}}",
                              cancel_url=f"{settings.STORE_URL}/checkout/cancel/?number={{number}}")
    return ReturnUrls(success_url=urls.success_url.replace("{number}", number),
                      cancel_url=urls.cancel_url.replace("{number}", number))

