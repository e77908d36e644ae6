"""An order's life as random sequences of what shoppers and staff do, against the state table in docs/design.md:

    PENDING_PAYMENT -> PAID -> FULFILLED;  PENDING_PAYMENT -> CANCELLED;  PAID/FULFILLED -> (partially) REFUNDED

(a partly refunded order may be refunded again, partly or in full; nothing leaves CANCELLED or REFUNDED). Orders are
placed on the checkout page and paid on Stripe's hosted page (the local fake of Stripe's API): the shopper's return
confirms them. Staff ship, refund (part of the money, with or without units back on the shelf; all of it) and
cancel through orders.services. The model is this module's own: the table above, each order's status and history,
its money (paid, refunded) and its units (sold, returned), and the stock per SKU. A transition the table allows
must happen; one it does not must raise the documented error (TransitionRefused, or the refund's own refusals) and
change nothing; after every step each order's status, history and payment, and every stock level, are compared
with the model."""

from __future__ import annotations

import itertools
from decimal import Decimal

import hypothesis.strategies as st
import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from inventory import services as inventory_services
from orders import services
from orders.models import Order
from orders.types import RestockRefused, TransitionRefused
from payments import services as payment_services
from payments.types import RefundRefused
from tests.factories import make_product

PENDING, PAID, FULFILLED, CANCELLED = "pending_payment", "paid", "fulfilled", "cancelled"
PARTLY, REFUNDED = "partially_refunded", "refunded"
# docs/design.md's states, as a table: what each status may become.
TABLE = {
    PENDING: {PAID, CANCELLED},
    PAID: {FULFILLED, PARTLY, REFUNDED},
    FULFILLED: {PARTLY, REFUNDED},
    PARTLY: {PARTLY, REFUNDED, FULFILLED},  # shipping only if it was not shipped before (allowed())
    CANCELLED: set(),
    REFUNDED: set(),
}
PRICES = [Decimal("10.00"), Decimal("15.00")]
STOCK = 8
MAX_ORDERS = 3
ADDRESS = {"email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London",
           "postal_code": "N1 7AA", "country": "GB"}
_keys = itertools.count(1)


class _Undo(Exception):
    """Rolls back a transition tried only to see whether it is allowed."""


class OrderLife(RuleBasedStateMachine):
    stripe = None  # the fake Stripe API, set by the test

    @initialize(first=st.sampled_from([(1, 0), (0, 2), (1, 1)]), then=st.sampled_from(["wait", "pay", "refund 1"]))
    def start(self, first, then):
        """Fresh SKUs, and one order placed already (waiting for its payment, paid, or paid and 1.00 of it
        refunded), so that few steps reach every status."""
        spec = make_product(prices=[str(p) for p in PRICES], stock=[STOCK] * len(PRICES))  # fresh SKUs per example
        self.skus = [variant.sku for variant in spec.variants]
        self.price = dict(zip(self.skus, PRICES, strict=True))
        self.on_hand = dict.fromkeys(self.skus, STOCK)
        self.reserved = dict.fromkeys(self.skus, 0)
        self.orders: list[dict] = []  # {"number", "session", "shopper", "status", "history", "lines", "total",
        #                               "paid", "refunded", "returned": {sku: units}, "keys": [refund keys used]}
        self.place_order(list(first))
        if then != "wait":
            self.pay_order(self.orders[0])
        if then == "refund 1":
            order, key = self.orders[0], f"refund-part-{next(_keys)}"
            assert services.order_refund(number=order["number"], amount=Decimal("1.00"), key=key).status == PARTLY
            order["refunded"] += Decimal("1.00")
            order["keys"].append(key)
            self.move(order, PARTLY)

    # ---------------------------------------------------------------- helpers
    def allowed(self, order: dict, to: str) -> bool:
        return to in TABLE[order["status"]] and not (to == FULFILLED and FULFILLED in order["history"])

    def move(self, order: dict, to: str) -> None:
        assert self.allowed(order, to), (order["status"], to)
        order["status"] = to
        order["history"].append(to)

    def left(self, order: dict) -> Decimal:
        return order["paid"] - order["refunded"]

    def returnable(self, order: dict) -> dict[str, int]:
        return {sku: units - order["returned"][sku] for sku, units in order["lines"].items()}

    def put_back(self, order: dict, units: dict[str, int]) -> None:
        for sku, n in units.items():
            self.on_hand[sku] += n
            order["returned"][sku] += n

    def unchanged(self, order: dict, error, call) -> None:
        """A transition the table does not allow: the documented error, and nothing moves (the invariant checks
        the order, its money and the stock against the unchanged model)."""
        with pytest.raises(error):
            call()

    # ---------------------------------------------------------------- the shopper
    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(quantities=st.lists(st.integers(min_value=0, max_value=2), min_size=2, max_size=2)
          .filter(lambda q: any(q)))
    def place(self, quantities):
        self.place_order(quantities)

    def place_order(self, quantities):
        """Cart, checkout page, on to Stripe's page: the order waits for its payment, its units held."""
        shopper = Client()
        lines = {sku: n for sku, n in zip(self.skus, quantities, strict=True) if n}
        for sku, n in lines.items():
            assert shopper.post("/cart/add/", {"sku": sku, "quantity": str(n)}).status_code == 302
        form = shopper.get("/checkout/").context["form"]
        response = shopper.post("/checkout/", {**ADDRESS, "idempotency_key": form.initial["idempotency_key"],
                                               "expected_total": str(form.initial["expected_total"])})
        assert response.status_code == 303 and response["Location"].startswith(f"{self.stripe.url}/pay/cs_")
        number = Order.objects.latest("id").number  # the order this checkout made (the page sends it to Stripe)
        assert number not in {order["number"] for order in self.orders}
        view = services.order_view(number=number)
        subtotal = sum((self.price[sku] * n for sku, n in lines.items()), Decimal("0.00"))
        assert view.status == PENDING and view.subtotal == subtotal and view.total == subtotal + view.shipping
        assert {line.sku: line.quantity for line in view.lines} == lines
        for sku, n in lines.items():
            self.reserved[sku] += n
        self.orders.append({"number": number, "session": response["Location"].rsplit("/", 1)[1],
                            "shopper": shopper, "status": PENDING, "history": [PENDING], "lines": lines,
                            "total": view.total, "paid": Decimal("0.00"), "refunded": Decimal("0.00"),
                            "returned": dict.fromkeys(lines, 0), "keys": []})

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def pay(self, data):
        """The shopper pays on Stripe's page and comes back; a payment reported again for an order that has moved
        on changes nothing (and an order cancelled before it was paid took no money to give back)."""
        order = data.draw(st.sampled_from(self.orders), label="order")
        self.pay_order(order)

    def pay_order(self, order):
        if order["status"] == PENDING:
            assert self.stripe.pay_session(order["session"]) is not None
            back = order["shopper"].get(f"/checkout/return/?number={order['number']}")
            assert back.status_code == 302 and back["Location"] == f"/orders/{order['number']}/"
            self.move(order, PAID)
            order["paid"] = order["total"]
            for sku, n in order["lines"].items():
                self.on_hand[sku] -= n
                self.reserved[sku] -= n
            return
        view = services.order_confirm(number=order["number"], note="payment reported again")
        assert view.status == order["status"]

    # ---------------------------------------------------------------- staff
    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def ship(self, data):
        order = data.draw(st.sampled_from(self.orders), label="order")
        if not self.allowed(order, FULFILLED):
            return self.unchanged(order, TransitionRefused, lambda: services.order_fulfil(number=order["number"]))
        assert services.order_fulfil(number=order["number"]).status == FULFILLED
        self.move(order, FULFILLED)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), share=st.sampled_from(["one", "half", "one", "rest", "too much"]), units=st.integers(0, 2))
    def refund_part(self, data, share, units):
        """Part of the money back, and ``units`` of one line back on the shelf (0: none)."""
        order = data.draw(st.sampled_from(self.orders), label="order")
        sku = data.draw(st.sampled_from(sorted(order["lines"])), label="sku")
        left = self.left(order)
        amount = {"one": Decimal("1.00"), "half": (left / 2).quantize(Decimal("0.01")), "rest": left,
                  "too much": left + Decimal("0.01")}[share]
        lines = {sku: units} if units else None
        key = f"refund-part-{next(_keys)}"

        def call():
            return services.order_refund(number=order["number"], amount=amount, lines=lines, key=key)

        if not self.allowed(order, PARTLY) and not self.allowed(order, REFUNDED):
            return self.unchanged(order, TransitionRefused, call)
        if units and units > self.returnable(order)[sku]:
            return self.unchanged(order, RestockRefused, call)
        if amount <= 0 or amount > left:
            return self.unchanged(order, RefundRefused, call)
        view = call()
        order["refunded"] += amount
        order["keys"].append(key)
        self.put_back(order, {sku: units} if units else {})
        self.move(order, REFUNDED if self.left(order) == 0 else PARTLY)
        assert view.status == order["status"]

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), restock=st.booleans())
    def refund_all(self, data, restock):
        """All the money that is left back; with ``restock``, every unit not yet returned back on the shelf."""
        order = data.draw(st.sampled_from(self.orders), label="order")
        key = f"refund-all-{next(_keys)}"

        def call():
            return services.order_refund(number=order["number"], restock=restock, key=key)

        if not self.allowed(order, REFUNDED):
            return self.unchanged(order, TransitionRefused, call)
        assert call().status == REFUNDED
        self.refund_everything(order, restock)
        order["keys"].append(key)

    def refund_everything(self, order: dict, restock: bool) -> None:
        order["refunded"] = order["paid"]
        if restock:
            self.put_back(order, self.returnable(order))
        self.move(order, REFUNDED)

    @precondition(lambda self: any(order["keys"] for order in self.orders))
    @rule(data=st.data())
    def refund_sent_again(self, data):
        """A refund sent again (a retry, a double click) with its key: done once, nothing more moves."""
        order = data.draw(st.sampled_from([order for order in self.orders if order["keys"]]), label="order")
        key = data.draw(st.sampled_from(order["keys"]), label="key")
        assert services.order_refund(number=order["number"], key=key).status == order["status"]

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), restock=st.booleans())
    def cancel(self, data, restock):
        """Unpaid: the order is cancelled and its units released (Stripe's page is given up first). Paid: it is
        refunded in full. Cancelled or refunded already: nothing changes."""
        order = data.draw(st.sampled_from(self.orders), label="order")
        view = services.order_cancel(number=order["number"], note="cancelled by staff", restock=restock)
        if order["status"] == PENDING:
            self.move(order, CANCELLED)
            for sku, n in order["lines"].items():
                self.reserved[sku] -= n
        elif self.allowed(order, REFUNDED):
            self.refund_everything(order, restock)
        assert view.status == order["status"]

    # ---------------------------------------------------------------- after every step
    @invariant()
    def every_order_may_move_only_as_the_table_says(self):
        """Whatever status an order has reached: shipping it succeeds exactly when the table allows (tried in a
        transaction rolled back after, so nothing stays), and a refund of an order the table keeps from being
        refunded is refused before any money moves."""
        for order in self.orders:
            with pytest.raises(_Undo), transaction.atomic():
                if self.allowed(order, FULFILLED):
                    assert services.order_fulfil(number=order["number"]).status == FULFILLED
                else:
                    with pytest.raises(TransitionRefused):
                        services.order_fulfil(number=order["number"])
                raise _Undo
            if not self.allowed(order, PARTLY) and not self.allowed(order, REFUNDED):
                with pytest.raises(TransitionRefused):
                    services.order_refund(number=order["number"], amount=Decimal("1.00"),
                                          key=f"refund-probe-{next(_keys)}")

    @invariant()
    def orders_money_and_stock_follow_the_model(self):
        for order in self.orders:
            view = services.order_view(number=order["number"])
            assert view.status == order["status"], order["number"]
            assert [status for status, _ in view.history] == order["history"], order["number"]
            payments = payment_services.payment_summaries(order_reference=order["number"])
            taken = [p for p in payments if p.state in ("succeeded", "partially_refunded", "refunded")]
            assert sum((p.amount for p in taken), Decimal("0.00")) == order["paid"], order["number"]
            refunded = sum((p.refunded_amount for p in taken), Decimal("0.00"))
            assert refunded == order["refunded"] <= order["paid"], order["number"]
        for sku in self.skus:
            levels = inventory_services.stock_levels(sku=sku)
            assert (sku, levels.on_hand, levels.reserved) == (sku, self.on_hand[sku], self.reserved[sku])
        assert inventory_services.stock_invariant_violations() == []


@pytest.mark.django_db(transaction=True)
def test_orders_follow_the_state_table(stripe_api, settings):
    settings.RATE_LIMITS = {}  # the machine places dozens of orders from one test
    OrderLife.stripe = stripe_api
    run_state_machine_as_test(OrderLife, settings=hypothesis_settings(
        max_examples=20, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
