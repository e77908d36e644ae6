"""A worker killed in the middle of compensation loses nothing: its transaction dies with it, the outbox message
stays undelivered, and the next delivery finishes the job. A real worker process (its own interpreter and
connections, on the test database), killed with os._exit in the middle of the job."""

import os
import subprocess
import sys
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings

from inventory import services as inventory_services
from orders.models import Order
from payments.gateways import TestGateway
from store.core import outbox
from store.core.models import OutboxMessage
from tests.orders.helpers import body, cart_with, checkout

pytestmark = pytest.mark.django_db(transaction=True)


WORKER = """
import os, django
django.setup()
from orders import subscribers
from store.core import outbox
real = subscribers.order_cancel
def cancel_then_die(**kwargs):
    real(**kwargs)   # the order is cancelled and the stock released, inside the delivery's transaction...
    os._exit(9)      # ...and the worker is killed before that transaction commits
subscribers.order_cancel = cancel_then_die
outbox.deliver(int(os.environ["MESSAGE_ID"]))
"""


def database_url_of_this_test() -> str:
    db = django_settings.DATABASES["default"]
    host = quote(db["HOST"], safe="") if db["HOST"].startswith("/") else db["HOST"]
    port = f":{db['PORT']}" if db.get("PORT") else ""
    auth = db["USER"] + (f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else "")
    return f"postgresql://{auth}@{host}{port}/{db['NAME']}"


def test_a_worker_killed_during_compensation_is_finished_by_the_retry(client, monkeypatch, settings):
    settings.RATE_LIMITS = {}

    def no_answer(self, **charge):
        raise TimeoutError("no answer")

    monkeypatch.setattr(TestGateway, "charge", no_answer)
    token, sku = cart_with(1, stock=2)
    number = checkout(client, body(token)).json()["number"]
    message = OutboxMessage.objects.get(topic="order.payment_unknown")
    env = dict(os.environ, DATABASE_URL=database_url_of_this_test(), MESSAGE_ID=str(message.pk),
               DJANGO_SETTINGS_MODULE="store.settings")
    worker = subprocess.run([sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=120)
    assert worker.returncode == 9, worker.stderr[-2000:]
    assert Order.objects.get(number=number).status == "pending_payment"  # nothing half-done survived
    assert OutboxMessage.objects.get(pk=message.pk).delivered_at is None
    levels = inventory_services.stock_levels(sku=sku)
    assert (levels.on_hand, levels.reserved) == (2, 1)
    assert outbox.deliver(message.pk) is True  # the retry (the beat sweep, or Celery's redelivery)
    assert Order.objects.get(number=number).status == "cancelled"
    levels = inventory_services.stock_levels(sku=sku)
    assert (levels.on_hand, levels.reserved) == (2, 0)
    assert inventory_services.stock_invariant_violations() == []
