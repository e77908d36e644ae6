"""The Stripe gateway and webhooks, with the real `stripe` SDK talking HTTP to a local fake of the Stripe API."""

import hashlib
import hmac
import json
import time

import pytest

from inventory import services as inventory_services
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, WebhookEvent
from store.core import outbox
from tests.orders.helpers import body, cart_with, checkout
from tests.payments.fake_stripe import KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def pay_with(pm: str) -> dict:
    return {"method": "stripe", "payment_method": pm}


def signed(client, event: dict, secret: str = WEBHOOK_SECRET):
    payload = json.dumps(event)
    stamp = int(time.time())
    signature = hmac.new(secret.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return client.post("/payments/stripe/webhook/", payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={signature}")


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


def test_a_stripe_checkout_is_paid_and_sends_what_the_sdk_really_sends(client, stripe_api):
    token, sku = cart_with(1, stock=2, price="19.99")
    response = checkout(client, body(token, payment=pay_with("pm_card_visa")))
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    sent = stripe_api.requests[0]
    assert sent["path"] == "/v1/payment_intents"
    assert sent["headers"]["Idempotency-Key"] == f"order-{number}"
    assert sent["headers"]["Authorization"] == f"Bearer {KEY}" and sent["headers"]["Stripe-Version"]
    assert sent["params"]["amount"] == "1999" and sent["params"]["currency"] == "usd"
    assert sent["params"]["confirm"] == "true"
    assert Payment.objects.get(order_reference=number).gateway_reference.startswith("pi_")
    assert levels(sku) == (1, 0)


def test_a_declined_stripe_card_cancels_and_releases(client, stripe_api):
    token, sku = cart_with(1, stock=2)
    response = checkout(client, body(token, payment=pay_with("pm_card_chargeDeclined")))
    assert response.status_code == 402 and response.json()["code"] == "payment_declined"
    assert response.json()["decline_code"] == "generic_decline"
    assert levels(sku) == (2, 0)


def test_a_lost_answer_is_settled_by_asking_stripe_again_without_a_second_charge(client, stripe_api):
    token, sku = cart_with(1, stock=2)
    response = checkout(client, body(token, payment=pay_with("pm_card_lost_answer")))
    assert response.status_code == 202
    number = response.json()["number"]
    assert Order.objects.get(number=number).status == "pending_payment"
    outbox.relay_pending()  # compensation repeats the idempotent request: Stripe's first answer comes back
    assert Order.objects.get(number=number).status == "paid"
    assert len(stripe_api.intents) == 1
    assert levels(sku) == (1, 0)


def test_stripe_is_refused_when_not_configured(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    token, _ = cart_with()
    response = checkout(client, body(token, payment=pay_with("pm_card_visa")))
    assert response.status_code == 400 and "not configured" in response.json()["message"]


def test_refunds_go_to_stripe_with_their_own_key(client, stripe_api):
    token, _ = cart_with(1, price="30.00")
    number = checkout(client, body(token, payment=pay_with("pm_card_visa"))).json()["number"]
    order_services.order_refund(number=number, restock=True, note="return")
    refund_request = stripe_api.requests[-1]
    assert refund_request["path"] == "/v1/refunds" and refund_request["params"]["amount"] == "3000"
    assert refund_request["headers"]["Idempotency-Key"] == f"refund-{number}-all"
    assert Order.objects.get(number=number).status == "refunded"


def no_answer(self, **charge):
    raise TimeoutError("Stripe did not answer")


def intent_event(event_id: str, intent_id: str, key: str, kind: str = "payment_intent.succeeded") -> dict:
    return {"id": event_id, "object": "event", "type": kind,
            "data": {"object": {"id": intent_id, "object": "payment_intent", "metadata": {"idempotency_key": key},
                                "last_payment_error": None if kind.endswith("succeeded") else
                                {"code": "card_declined", "message": "Your card was declined."}}}}


def test_a_webhook_that_beats_the_checkout_answer_confirms_the_order_once(client, stripe_api, monkeypatch):
    from payments.gateways import StripeGateway

    monkeypatch.setattr(StripeGateway, "charge", no_answer)
    token, sku = cart_with(1, stock=2)
    number = checkout(client, body(token, payment=pay_with("pm_card_visa"))).json()["number"]  # no answer yet
    assert signed(client, intent_event("evt_1", "pi_123", f"order-{number}")).json()["result"] == "applied"
    assert signed(client, intent_event("evt_1", "pi_123", f"order-{number}")).json()["result"] == "duplicate"
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "paid"
    assert levels(sku) == (1, 0)
    assert WebhookEvent.objects.count() == 1


def test_a_failed_payment_webhook_cancels_a_pending_order(client, stripe_api, monkeypatch):
    from payments.gateways import StripeGateway

    monkeypatch.setattr(StripeGateway, "charge", no_answer)
    token, sku = cart_with(1, stock=2)
    number = checkout(client, body(token, payment=pay_with("pm_card_visa"))).json()["number"]
    signed(client, intent_event("evt_2", "pi_9", f"order-{number}", "payment_intent.payment_failed"))
    from store.core.models import OutboxMessage

    OutboxMessage.objects.filter(topic="order.payment_unknown").delete()  # only the webhook's word counts here
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "cancelled" and levels(sku) == (2, 0)


def test_a_refund_made_in_the_stripe_dashboard_shows_on_the_order(client, stripe_api):
    token, _ = cart_with(1, price="40.00")
    number = checkout(client, body(token, payment=pay_with("pm_card_visa"))).json()["number"]
    intent = Payment.objects.get(order_reference=number).gateway_reference
    event = {"id": "evt_r", "object": "event", "type": "charge.refunded",
             "data": {"object": {"id": "ch_1", "object": "charge", "payment_intent": intent,
                                 "amount_refunded": 1500, "metadata": {}}}}
    signed(client, event)
    outbox.relay_pending()
    assert Order.objects.get(number=number).status == "partially_refunded"
    assert Payment.objects.get(order_reference=number).refunded_amount == 15


@pytest.mark.parametrize("mangle", ["forged", "unsigned", "stale"])
def test_forged_unsigned_and_stale_webhooks_are_refused(client, stripe_api, mangle):
    event = intent_event("evt_x", "pi_x", "order-nothing")
    if mangle == "forged":
        response = signed(client, event, secret="whsec_wrong")
    elif mangle == "unsigned":
        response = client.post("/payments/stripe/webhook/", json.dumps(event), content_type="application/json")
    else:
        payload = json.dumps(event)
        stamp = int(time.time()) - 3600
        sig = hmac.new(WEBHOOK_SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256).hexdigest()
        response = client.post("/payments/stripe/webhook/", payload, content_type="application/json",
                               HTTP_STRIPE_SIGNATURE=f"t={stamp},v1={sig}")
    assert response.status_code == 400 and response.json()["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists()
