"""A worker killed in the middle of compensation loses nothing: its transaction dies with it, the outbox message
stays undelivered, and the next delivery finishes the job. A real child process, killed with os._exit."""

import multiprocessing
import os

import pytest
from django.db import connections

from inventory import services as inventory_services
from orders import services as order_services
from orders.models import Order
from payments.gateways import TestGateway
from store.core import outbox
from store.core.models import OutboxMessage
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db(transaction=True)


def _die_halfway(message_id: int) -> None:
    """In the child: run the real compensation, then die before its transaction can commit."""
    real = order_services.order_cancel

    def cancel_then_die(**kwargs):
        real(**kwargs)  # the order is cancelled and the stock released... inside the delivery's transaction
        os._exit(9)  # ...and the worker is killed before that transaction commits

    order_services.order_cancel = cancel_then_die
    outbox.deliver(message_id)


def test_a_worker_killed_during_compensation_is_finished_by_the_retry(client, monkeypatch, settings):
    settings.RATE_LIMITS = {}

    def no_answer(self, **charge):
        raise TimeoutError("no answer")

    monkeypatch.setattr(TestGateway, "charge", no_answer)
    token, sku = cart_with(1, stock=2)
    number = checkout(client, body(token)).json()["number"]
    message = OutboxMessage.objects.get(topic="order.payment_unknown")
    connections.close_all()  # the child must not share our connection
    child = multiprocessing.get_context("fork").Process(target=_die_halfway, args=(message.pk,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 9
    assert Order.objects.get(number=number).status == "pending_payment"  # nothing half-done survived
    assert OutboxMessage.objects.get(pk=message.pk).delivered_at is None
    levels = inventory_services.stock_levels(sku=sku)
    assert (levels.on_hand, levels.reserved) == (2, 1)
    assert outbox.deliver(message.pk) is True  # the retry (the beat sweep, or Celery's redelivery)
    assert Order.objects.get(number=number).status == "cancelled"
    levels = inventory_services.stock_levels(sku=sku)
    assert (levels.on_hand, levels.reserved) == (2, 0)
    assert inventory_services.stock_invariant_violations() == []
