"""Stripe on the pages: the checkout page sends the shopper to Stripe's hosted page (no card number reaches the
shop), the webhook or the shopper's return confirms the order exactly once, an abandoned page expires with its
reservation, and Stripe outcomes left undecided are settled by asking Stripe, never by charging again. The real
`stripe` SDK talks HTTP to the local fake (tests/payments/fake_stripe.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client

from cart import services as cart_services
from inventory import services as inventory_services
from inventory.models import Reservation
from orders import services as order_services
from orders import subscribers
from orders.models import Order
from payments.models import Payment
from payments.types import PaymentInFlight
from store.core import outbox
from tests.factories import make_product
from tests.orders.helpers import body, checkout
from tests.payments.test_stripe import pay_with, signed

pytestmark = pytest.mark.django_db
ADDRESS = {"email": "ada@example.com", "name": "Ada Lovelace", "line1": "1 Analytical Way", "city": "London",
           "postal_code": "N1 7AA", "country": "GB"}


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


def shopper_with(quantity=1, *, stock=3, price="25.00"):
    """A browser with a cart, on the checkout page: (client, sku, the page's form fields)."""
    shopper = Client()
    sku = make_product(stock=stock, price=price).variants[0].sku
    shopper.post("/cart/add/", {"sku": sku, "quantity": str(quantity)})
    page = shopper.get("/checkout/")
    form = page.context["form"]
    fields = {**ADDRESS, "idempotency_key": form.initial["idempotency_key"],
              "expected_total": str(form.initial["expected_total"])}
    return shopper, sku, page, fields


def to_stripe(shopper, fields, fake):
    response = shopper.post("/checkout/", fields)
    assert response.status_code == 303 and response["Location"].startswith(f"{fake.url}/pay/cs_"), response
    number = Order.objects.latest("id").number
    return number, response["Location"].rsplit("/", 1)[1]


def session_event(event_id: str, session: dict, kind: str = "checkout.session.completed") -> dict:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": session}}


def test_the_page_sends_the_shopper_to_stripe_and_never_asks_for_a_card(stripe_api):
    shopper, sku, page, fields = shopper_with(2, stock=5)
    assert b"card_number" not in page.content and b"Continue to payment" in page.content
    number, _session_id = to_stripe(shopper, {**fields, "card_number": "4242424242424242"}, stripe_api)
    created = next(r for r in stripe_api.requests if r["path"] == "/v1/checkout/sessions")
    assert "4242" not in str(created["params"])  # nothing of a card goes anywhere from the shop
    assert created["params"]["line_items"]["0"]["price_data"]["unit_amount"] == "5000"
    assert created["headers"]["Idempotency-Key"] == f"order-{number}"
    assert Order.objects.get(number=number).status == "pending_payment" and levels(sku) == (5, 2)  # held


def test_paying_on_stripe_then_returning_confirms_once_and_the_late_webhook_changes_nothing(client,
                                                                                          stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    paid = stripe_api.pay_session(session_id)
    back = shopper.get(f"/checkout/return/?number={number}")
    assert back.status_code == 302 and back["Location"] == f"/orders/{number}/"
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)
    assert shopper.get(back["Location"]).status_code == 200
    assert not cart_services.cart_get(token=shopper.session[cart_services.SESSION_KEY]).lines
    assert signed(client, session_event("evt_late", stripe_api._public(paid))).json()["result"] == "applied"
    outbox.relay_pending()
    assert [s for s, _ in order_services.order_get(number=number, is_staff=True).history] == [
        "pending_payment", "paid"]
    assert levels(sku) == (2, 0) and len(stripe_api.intents) == 1


def test_the_webhook_first_then_the_return_confirms_once(client, stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    paid = stripe_api.pay_session(session_id)
    signed(client, session_event("evt_first", stripe_api._public(paid)))
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "paid"
    shopper.get(f"/checkout/return/?number={number}")
    assert [s for s, _ in order_services.order_get(number=number, is_staff=True).history] == [
        "pending_payment", "paid"]
    assert levels(sku) == (2, 0)


def test_an_abandoned_payment_page_expires_with_its_reservation(stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    Reservation.objects.filter(reference=number).update(
        expires_at=Reservation.objects.get(reference=number).created_at - timedelta(minutes=1))
    assert inventory_services.reservations_release_expired() == [number]
    outbox.relay_pending()
    assert stripe_api.sessions[session_id]["status"] == "expired"  # it can no longer take money
    assert stripe_api.pay_session(session_id) is None
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (3, 0)
    assert Payment.objects.get(order_reference=number).state == "failed"


def test_paid_just_before_the_expiry_is_kept_when_stock_remains(stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    stripe_api.pay_session(session_id)  # paid; neither the webhook nor the shopper has told the shop yet
    Reservation.objects.filter(reference=number).update(
        expires_at=Reservation.objects.get(reference=number).created_at - timedelta(minutes=1))
    inventory_services.reservations_release_expired()
    outbox.relay_pending()  # expiring the page fails (it is complete): Stripe says paid → confirmed
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)
    assert inventory_services.stock_invariant_violations() == []


def test_a_shopper_who_gives_up_on_stripe_can_go_back_or_cancel_and_only_they_can(stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    page = shopper.get(f"/checkout/cancel/?number={number}")
    assert page.status_code == 200 and f"/pay/{session_id}".encode() in page.content
    assert Client().post("/checkout/cancel/", {"number": number}).status_code in (403, 404)  # not theirs
    assert Order.objects.get(number=number).status == "pending_payment"
    done = shopper.post("/checkout/cancel/", {"number": number})
    assert done.status_code == 302 and done["Location"] == "/cart/"
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (3, 0)
    assert stripe_api.sessions[session_id]["status"] == "expired"
    assert cart_services.cart_get(token=shopper.session[cart_services.SESSION_KEY]).lines  # their cart is intact


def test_the_api_returns_where_to_pay_and_the_same_key_returns_it_again(client, stripe_api):
    sku = make_product(stock=3, price="12.50").variants[0].sku
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku=sku, quantity=1)
    data = body(token, payment={"method": "stripe_checkout"})
    first = checkout(client, data, key="api-stripe")
    assert first.status_code == 202 and first.json()["status"] == "requires_payment"
    assert first.json()["next_action"]["url"].startswith(f"{stripe_api.url}/pay/cs_")
    again = checkout(client, data, key="api-stripe")
    assert (again.status_code, again.json()["next_action"]) == (202, first.json()["next_action"])
    assert len(stripe_api.sessions) == 1


def test_zero_decimal_currencies_go_to_stripe_in_whole_units(stripe_api, settings):
    settings.STORE_CURRENCY = "JPY"
    shopper, _, _, fields = shopper_with(2, stock=3, price="1200.00")
    to_stripe(shopper, fields, stripe_api)
    created = next(r for r in stripe_api.requests if r["path"] == "/v1/checkout/sessions")
    assert created["params"]["line_items"]["0"]["price_data"] == {
        "currency": "jpy", "unit_amount": "2400", "product_data": {"name": created["params"]["line_items"]["0"][
            "price_data"]["product_data"]["name"]}}


# ---------------------------------------------------------------- undecided Stripe outcomes (PaymentIntents)
def new_cart(stock=3, price="25.00"):
    sku = make_product(stock=stock, price=price).variants[0].sku
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku=sku, quantity=1)
    return token, sku


def test_a_lost_answer_is_settled_by_retrieving_never_by_charging_again(client, stripe_api):
    token, sku = new_cart()
    number = checkout(client, body(token, payment=pay_with("pm_card_lost_answer"))).json()["number"]
    subscribers.order_settle_payment({"number": number})
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)
    creates = [r for r in stripe_api.requests if r["path"] == "/v1/payment_intents" and "method" not in r]
    assert len(creates) == 1 and len(stripe_api.intents) == 1
    assert any(r["path"] == "/v1/payment_intents/search" for r in stripe_api.requests)


def test_an_intent_waiting_for_3d_secure_settles_when_stripe_says_so(client, stripe_api):
    token, sku = new_cart()
    answer = checkout(client, body(token, payment=pay_with("pm_card_threeDSecure")))
    assert answer.status_code == 202 and answer.json()["status"] == "requires_action"
    intent = stripe_api.intents[Payment.objects.get().gateway_reference]
    assert answer.json()["next_action"] == {"type": "use_stripe_sdk", "client_secret": intent["client_secret"]}
    number = answer.json()["number"]
    with pytest.raises(RuntimeError):  # still undecided: the outbox tries again later
        subscribers.order_settle_payment({"number": number})
    assert Order.objects.get(number=number).status == "pending_payment" and levels(sku) == (3, 1)
    stripe_api.decide(Payment.objects.get(order_reference=number).gateway_reference, "succeeded")
    subscribers.order_settle_payment({"number": number})
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)


def test_an_intent_never_authenticated_is_cancelled_at_stripe_when_its_reservation_expires(client,
                                                                                           stripe_api):
    token, sku = new_cart()
    number = checkout(client, body(token, payment=pay_with("pm_card_threeDSecure"))).json()["number"]
    intent = Payment.objects.get(order_reference=number).gateway_reference
    subscribers.order_reservation_expired({"reference": number})
    assert stripe_api.intents[intent]["status"] == "canceled"
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (3, 0)


def test_staff_cannot_cancel_while_stripe_is_processing_and_money_that_arrives_is_refunded(client,
                                                                                           stripe_api):
    token, sku = new_cart(price="30.00")
    number = checkout(client, body(token, payment=pay_with("pm_card_processing"))).json()["number"]
    with pytest.raises(PaymentInFlight):
        order_services.order_cancel(number=number, note="staff")
    assert Order.objects.get(number=number).status == "pending_payment"
    stripe_api.decide(Payment.objects.get(order_reference=number).gateway_reference, "succeeded")
    order_services.order_cancel(number=number, note="staff")
    assert Order.objects.get(number=number).status == "refunded" and levels(sku) == (3, 0)
    assert [r["amount"] for r in stripe_api.refunds] == [3000]


def test_a_success_reported_after_the_order_was_cancelled_is_refunded(client, stripe_api):
    token, _sku = new_cart(price="30.00")
    number = checkout(client, body(token, payment=pay_with("pm_card_threeDSecure"))).json()["number"]
    payment = Payment.objects.get(order_reference=number)
    Payment.objects.filter(pk=payment.pk).update(state="failed")  # as if we had given up on it...
    order_services.order_cancel(number=number, note="gave up")
    stripe_api.decide(payment.gateway_reference, "succeeded")  # ...and Stripe took the money after all
    event = {"id": "evt_late_success", "object": "event", "type": "payment_intent.succeeded",
             "data": {"object": {"id": payment.gateway_reference, "object": "payment_intent",
                                 "metadata": {"idempotency_key": payment.idempotency_key}}}}
    signed(client, event)
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "cancelled"
    assert Payment.objects.get(pk=payment.pk).refunded_amount == Decimal("30.00")
    assert [r["amount"] for r in stripe_api.refunds] == [3000]  # no cancelled order keeps money


def test_a_card_declined_on_stripes_page_leaves_the_order_payable_there(client, stripe_api):
    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, session_id = to_stripe(shopper, fields, stripe_api)
    key = Payment.objects.get(order_reference=number).idempotency_key
    declined = {"id": "evt_declined_try", "object": "event", "type": "payment_intent.payment_failed",
                "data": {"object": {"id": "pi_first_try", "object": "payment_intent", "metadata": {
                    "idempotency_key": key}, "last_payment_error": {"code": "card_declined"}}}}
    signed(client, declined)
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "pending_payment" and levels(sku) == (3, 1)
    stripe_api.pay_session(session_id)  # another card, on the same page
    shopper.get(f"/checkout/return/?number={number}")
    assert Order.objects.get(number=number).status == "paid" and levels(sku) == (2, 0)


def test_a_session_whose_id_was_lost_settles_as_expired_once_it_must_have_expired(client, stripe_api):
    from payments.gateways import StripeCheckoutGateway

    shopper, sku, _, fields = shopper_with(1, stock=3)
    number, _ = to_stripe(shopper, fields, stripe_api)
    too_old = Payment.objects.get(order_reference=number).created_at - StripeCheckoutGateway.SESSION_LIFETIME_MAX
    Payment.objects.filter(order_reference=number).update(checkout_session="", redirect_url="", created_at=too_old)
    subscribers.order_reservation_expired({"reference": number})
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (3, 0)


def test_a_stranger_returning_with_an_order_number_is_rate_limited(stripe_api, settings):
    """Each view of the return page by someone who does not own the order asks Stripe: anyone may, a few times
    (a shopper whose session ended), but not as often as they like."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": "2/m"}
    shopper, _, _, fields = shopper_with(1, stock=3)
    number, _ = to_stripe(shopper, fields, stripe_api)
    stranger = Client(REMOTE_ADDR="10.0.0.9")  # counted apart from the shopper who checked out
    asked = len(stripe_api.requests)
    assert [stranger.get(f"/checkout/return/?number={number}").status_code for _ in range(3)] == [200, 200, 429]
    assert len(stripe_api.requests) - asked == 2  # the refused view asked Stripe nothing
