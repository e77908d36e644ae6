"""Checkout under load, served as production serves it (`make serve`, test gateway):

1. throughput: W clients each making a cart and checking it out, again and again, for --seconds; checkouts/s and
   p50/p99 of the checkout call, against the inventory ceiling of the same run (a bare lock-update-insert
   transaction on the same PostgreSQL, W connections);
2. a sale: --buyers buyers (default 1,000) racing for --units units (default 100) of one SKU: exactly that many
   paid orders, everyone else told "sold out", `check_inventory` clean, no payment without a paid order.

    .venv/bin/python bench/checkout.py [--seconds 10] [--clients 8] [--buyers 1000] [--units 100]

Loopback only, bounded in requests and time. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import PYTHON, ROOT, ServedStore, hardware


class Api:
    """One keep-alive connection per thread."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body) if body is not None else None
        try:
            conn.request(method, path, data, {"Content-Type": "application/json", **(headers or {})})
            resp = conn.getresponse()
            raw = resp.read()
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            conn.close()
            return 0, {}
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, {}


def checkout_body(cart: str, n: int) -> dict:
    return {"cart_token": cart, "email": f"bench{n}@example.com",
            "shipping_address": {"name": "Bench Buyer", "line1": "1 Load Street", "city": "Testville",
                                 "region": "NY", "postal_code": "12345", "country": "US"},
            "payment": {"method": "card", "card_number": "4242424242424242"}}


def buy(api: Api, sku: str, n: int) -> tuple[int, float, dict]:
    _, cart = api.call("POST", "/api/v1/carts/")
    status, _ = api.call("POST", f"/api/v1/carts/{cart.get('token')}/lines/", {"sku": sku, "quantity": 1})
    if status not in (200, 201):
        return status, 0.0, {}
    t0 = time.perf_counter()
    status, body = api.call("POST", "/api/v1/checkout/", checkout_body(cart["token"], n),
                            {"Idempotency-Key": f"bench-{uuid.uuid4()}"})
    return status, time.perf_counter() - t0, body


IDLE_S = 3  # seconds of the shop at rest, measured before the load
TAIL_S = 2  # seconds after it, while Celery finishes what the checkouts queued


def manage(*args: str) -> str:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=300).stdout.strip()


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from store.embedded import services_for

    return services_for().urls.database_url


def bare_transactions(clients: int, seconds: float) -> float:
    url = database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS x (id int)")  # warm the connection
        conn.execute("CREATE TABLE IF NOT EXISTS public.bench_ceiling (id int PRIMARY KEY, qty int)")
        conn.execute("CREATE TABLE IF NOT EXISTS public.bench_ceiling_log (id bigserial PRIMARY KEY, qty int)")
        conn.execute("INSERT INTO public.bench_ceiling VALUES (1, 1000000000) ON CONFLICT DO NOTHING")
    stop = time.monotonic() + seconds
    done = []

    def loop():
        count = 0
        with psycopg.connect(url) as conn:
            while time.monotonic() < stop:
                with conn.transaction():
                    conn.execute("SELECT qty FROM public.bench_ceiling WHERE id = 1 FOR UPDATE")
                    conn.execute("UPDATE public.bench_ceiling SET qty = qty - 1 WHERE id = 1")
                    conn.execute("INSERT INTO public.bench_ceiling_log (qty) VALUES (1)")
                count += 1
        done.append(count)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE public.bench_ceiling, public.bench_ceiling_log")
    return sum(done) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100)
    args = parser.parse_args()
    print(f"# bench/checkout.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    with ServedStore() as store:
        api = Api(store.port)
        listing = store.get_json("/api/v1/products/?in_stock=true&sort=name")["results"]
        skus = [v["sku"] for p in listing[:2] for v in store.get_json(f"/api/v1/products/{p['slug']}/")["variants"]]
        plenty, hot = skus[0], skus[1]
        before = {sku: manage("stock", "show", sku) for sku in (plenty, hot)}
        manage("stock", "set", plenty, "1000000", "--reason", "bench/checkout.py throughput")

        # 1. throughput
        latencies, statuses = [], {}
        lock = threading.Lock()

        def client(i):
            n = 0
            while time.monotonic() < stop:
                status, took, _ = buy(api, plenty, i * 100000 + n)
                n += 1
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == 201:
                        latencies.append(took)

        # What the shop spends doing nothing (beat, the outbox's sweep, gunicorn's heartbeats), per second, is taken
        # off what the checkouts are charged.
        idle_before, idle_started = store.cpu_seconds(), time.monotonic()
        time.sleep(IDLE_S)
        cpu_before, started = store.cpu_seconds(), time.monotonic()
        idle = {kind: (used - idle_before.get(kind, 0.0)) / (started - idle_started)
                for kind, used in cpu_before.items()}
        stop = time.monotonic() + args.seconds
        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(client, range(args.clients)))
        elapsed = time.monotonic() - started
        time.sleep(TAIL_S)  # what the checkouts left for Celery (the receipts, the recommender) is part of their cost
        window = time.monotonic() - started
        cpu = {kind: max(0.0, used - cpu_before.get(kind, 0.0) - idle.get(kind, 0.0) * window)
               for kind, used in store.cpu_seconds().items()}
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        ceiling = bare_transactions(args.clients, min(args.seconds, 5))
        rate = len(latencies) / elapsed
        print(f"throughput, {args.clients} clients: {rate:.0f} paid checkouts/s (each client also makes its cart), "
              f"checkout p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; statuses {statuses}")
        print(f"ceiling, bare lock-update-insert transaction with {args.clients} connections: {ceiling:.0f}/s "
              f"-> checkout at {rate / ceiling:.0%} of it")
        paid = max(len(latencies), 1)
        total = sum(cpu.values())
        print("CPU per paid checkout (its cart's making included): "
              + ", ".join(f"{kind} {used / paid * 1000:.1f} ms" for kind, used in cpu.items())
              + f"; {total / paid * 1000:.1f} ms in all ({sum(idle.values()) * 1000:.0f} ms/s of idle work taken off), "
              f"{total / window:.2f} of {os.cpu_count()} cores busy over the load and its {TAIL_S:g} s tail "
              f"-> at most {os.cpu_count() * paid / total:.0f} paid checkouts/s on this machine's cores")

        # 2. the sale
        manage("stock", "set", hot, str(args.units), "--reason", "bench/checkout.py sale")
        carts = []
        for _n in range(args.buyers):
            _, cart = api.call("POST", "/api/v1/carts/")
            api.call("POST", f"/api/v1/carts/{cart['token']}/lines/", {"sku": hot, "quantity": 1})
            carts.append(cart["token"])
        outcomes: dict[str, int] = {}
        numbers = []

        def buyer(n):
            status, body = api.call("POST", "/api/v1/checkout/", checkout_body(carts[n], n),
                                    {"Idempotency-Key": f"sale-{uuid.uuid4()}"})
            key = "paid" if status == 201 else body.get("code", str(status))
            with lock:
                outcomes[key] = outcomes.get(key, 0) + 1
                if status == 201:
                    numbers.append(body["number"])

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=min(200, args.buyers)) as pool:
            list(pool.map(buyer, range(args.buyers)))
        took = time.monotonic() - started
        levels = manage("stock", "show", hot)
        check = subprocess.run([PYTHON, "manage.py", "check_inventory"], cwd=ROOT, capture_output=True, text=True,
                               check=False)
        with psycopg.connect(database_url()) as conn:
            orphan = conn.execute(
                "SELECT count(*) FROM payments.payments_payment p LEFT JOIN orders.orders_order o "
                "ON o.number = p.order_reference WHERE p.state = 'succeeded' "
                "AND (o.id IS NULL OR o.status NOT IN ('paid', 'fulfilled'))").fetchone()[0]
            paid = conn.execute("SELECT count(*) FROM orders.orders_order WHERE number = ANY(%s) AND status = 'paid'",
                                [numbers]).fetchone()[0]
        print(f"sale: {args.buyers} buyers for {args.units} units in {took:.1f} s: outcomes {outcomes}; "
              f"{paid} paid orders; stock now {levels}; check_inventory "
              f"{'clean' if check.returncode == 0 else 'FAILED: ' + check.stderr[-300:]}; "
              f"payments without a paid order: {orphan}")
        rss = store.peak_rss_mib()
        print(f"peak RSS: web worker {rss['web']:.0f} MiB, Celery {rss['celery']:.0f} MiB")
        for sku, shown in before.items():  # put the two SKUs back as they were
            on_hand = shown.split()[0].split("=")[1]
            manage("stock", "set", sku, on_hand, "--reason", "bench/checkout.py: restore")


if __name__ == "__main__":
    main()
