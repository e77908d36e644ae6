"""A flash sale against `make serve`: N shoppers (default 10,000) browse the deal's page and race to buy S units
(default 100), once with the admission gate and the checkout queue on, once with both off, and once with the
global cap as well (shoppers shed with 503 come back after its Retry-After), and on request (--runs front) with
gate and queue behind nginx as a front cache (what a CDN does for a real sale: it keeps what the store's
Cache-Control lets a shared cache keep), each next to its ceilings measured in the same run (the bare Django
project of bench/bare/ served beside it, a bare PostgreSQL lock-update-insert transaction).

    .venv/bin/python bench/flash_sale.py [--shoppers 10000] [--units 100] [--threads 64] [--runs on,off,cap]

Each shopper: GET the deal page, create a cart, add one unit (a 409 there means sold out), check out with an
Idempotency-Key (following a 202 poll URL until the answer). Beside the crowd, a browsing shopper in a process of
its own (so the crowd's client threads never delay its clock) opens the deal page and adds the deal to a new cart
every 20 ms for as long as the sale lasts: what anyone browsing during the sale sees, pages and sold-out answers.
Prints throughput, p50/p95/p99 per step, status counts, paid orders, and the oversell and double-charge checks.
Loopback only; bounded in requests and time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import multiprocessing
import queue
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.checkout import Api, bare_transactions, checkout_body, database_url, manage
from bench.harness import BARE_PATH, ServedStore, bare_project, front_cache, hardware, load

POLL_LIMIT_S = 120


def percentiles(samples: list[float]) -> str:
    if len(samples) < 2:
        return "n/a"
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:.1f} / p95 {q[94] * 1000:.1f} / p99 {q[98] * 1000:.1f} ms"


def browse(port: int, slug: str, sku: str, ready, stop, results) -> None:
    """The browsing shopper beside the crowd (a process of its own): the deal page, then one unit of the deal
    added to a new cart, every 20 ms from ``ready`` until ``stop`` is set. Its page latencies, and those of the
    adds answered "sold out" (409, none available), go to ``results``."""
    api = Api(port)
    page, sold_out = [], []
    ready.set()
    while not stop.is_set():
        t0 = time.perf_counter()
        status, _ = api.call("GET", f"/p/{slug}/")
        if status == 200:
            page.append(time.perf_counter() - t0)
        _, cart = api.call("POST", "/api/v1/carts/")  # a cart of its own each time: its line never grows
        t0 = time.perf_counter()
        status, body = api.call("POST", f"/api/v1/carts/{cart.get('token')}/lines/", {"sku": sku, "quantity": 1})
        if status == 409 and body.get("available") == 0:
            sold_out.append(time.perf_counter() - t0)
        stop.wait(0.02)
    results.put((page, sold_out))


def run_sale(*, label: str, gate: bool, queue_after: int | None, shoppers: int, units: int, threads: int,
             global_cap: str | None = None, front: bool = False) -> None:
    env = {"CHECKOUT_QUEUE_AFTER": str(queue_after)} if queue_after is not None else {}
    if global_cap:  # only the shop-wide cap: every shopper comes from one address, so per-client limits stay off
        env["RATE_LIMITS"] = f"cart=off,checkout=off,cart_account=off,checkout_account=off,global={global_cap}"
    with ServedStore(extra_env=env) as store, (
            front_cache(store.port) if front else contextlib.nullcontext(store.port)) as port:
        api = Api(port)  # the crowd and the browser come through the front cache when there is one
        deal = store.get_json("/api/v1/products/?in_stock=true&sort=name")["results"][1]
        sku = store.get_json(f"/api/v1/products/{deal['slug']}/")["variants"][0]["sku"]
        before = manage("stock", "show", sku).split()[0].split("=")[1]
        manage("stock", "set", sku, str(units), "--reason", f"bench/flash_sale.py: {label}")
        manage("flash_sale", "start" if gate else "stop", sku)
        with bare_project(store.web_env()) as bare_server:
            bare = load(bare_server.base, BARE_PATH, seconds=3, connections=8)
        ceiling = bare_transactions(8, 3)

        timings: dict[str, list[float]] = {"page": [], "cart": [], "add": [], "checkout": []}
        outcomes: dict[str, int] = {}
        shed = {"503": 0, "waited": 0.0}
        lock = threading.Lock()

        def timed(step, fn):
            while True:
                t0 = time.perf_counter()
                result = fn()
                elapsed = time.perf_counter() - t0
                with lock:
                    timings[step].append(elapsed)
                body = result[1] if isinstance(result[1], dict) else {}
                if result[0] != 503 or (body.get("code") != "overloaded" and step != "page"):
                    return result
                wait = min(float(body.get("retry_after", 1)), 5.0)  # shed: come back when told (a page too)
                with lock:
                    shed["503"] += 1
                    shed["waited"] += wait
                time.sleep(wait)

        def count(outcome):
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

        def shopper(n):
            status, _ = timed("page", lambda: api.call("GET", f"/p/{deal['slug']}/"))
            if status != 200:
                return count(f"page {status}")
            status, cart = timed("cart", lambda: api.call("POST", "/api/v1/carts/"))
            if status != 201:
                return count(f"cart {status}")
            status, body = timed("add", lambda: api.call("POST", f"/api/v1/carts/{cart['token']}/lines/",
                                                          {"sku": sku, "quantity": 1}))
            if status == 409:
                return count("sold out (cart)")
            if status not in (200, 201):
                return count(f"add {status}")
            status, body = timed("checkout", lambda: api.call(
                "POST", "/api/v1/checkout/", checkout_body(cart["token"], n),
                {"Idempotency-Key": f"flash-{uuid.uuid4()}"}))
            deadline = time.monotonic() + POLL_LIMIT_S
            poll_url = body.get("poll_url") if status == 202 else None
            while poll_url and status in (202, 503) and time.monotonic() < deadline:
                time.sleep(0.2)  # the shopper's page polls while they wait in line (a shed poll just polls again)
                status, body = api.call("GET", poll_url)
            count("paid" if status == 201 else body.get("code", f"checkout {status}"))

        api.call("GET", f"/p/{deal['slug']}/")  # the deal's page has been seen before the sale opens, as it would be
        spawn = multiprocessing.get_context("spawn")
        ready, stop, results = spawn.Event(), spawn.Event(), spawn.Queue()
        browser = spawn.Process(target=browse, args=(port, deal["slug"], sku, ready, stop, results))
        browser.start()
        if not ready.wait(60):
            raise SystemExit("the browsing shopper's process did not start")
        since = datetime.datetime.now(datetime.UTC)
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(shopper, range(shoppers)))
        took = time.monotonic() - started
        stop.set()
        try:
            browsed, sold_out = results.get(timeout=60)
        except queue.Empty:  # it died: the sale's own figures still count
            browsed, sold_out = [], []
        browser.join(60)
        requests = sum(len(v) for v in timings.values())
        with psycopg.connect(database_url()) as conn:
            paid_units = conn.execute(
                "SELECT coalesce(sum(l.quantity), 0) FROM orders.orders_orderline l JOIN orders.orders_order o "
                "ON o.id = l.order_id WHERE l.sku = %s AND o.status = 'paid' AND o.created_at >= %s",
                [sku, since]).fetchone()[0]
            orphan = conn.execute(
                "SELECT count(*) FROM payments.payments_payment p LEFT JOIN orders.orders_order o "
                "ON o.number = p.order_reference WHERE p.state = 'succeeded' "
                "AND (o.id IS NULL OR o.status NOT IN ('paid', 'fulfilled'))").fetchone()[0]
            charges = conn.execute(
                "SELECT count(*) - count(DISTINCT order_reference) FROM payments.payments_payment "
                "WHERE state = 'succeeded'").fetchone()[0]
        levels = manage("stock", "show", sku)
        check = manage("check_inventory")
        rss = store.peak_rss_mib()
        print(f"\n## {label}: {shoppers} shoppers, {units} units of {sku}, {threads} client threads")
        print(f"ceilings: bare project {bare.rps:.0f} req/s; bare lock-update-insert transaction {ceiling:.0f}/s")
        print(f"{requests} requests in {took:.1f} s = {requests / took:.0f} req/s; outcomes {outcomes}")
        if global_cap:
            print(f"global cap {global_cap}: {shed['503']} requests shed with 503 (each shopper came back after "
                  f"Retry-After: {shed['waited']:.0f} s of waiting in all)")
        for step, samples in timings.items():
            print(f"  {step:<9} {len(samples):>6} requests  {percentiles(samples)}")
        print(f"  beside the crowd, a browsing shopper's deal page: {len(browsed)} requests  {percentiles(browsed)}")
        print(f"  beside the crowd, its sold-out answers (409): {len(sold_out)} requests  {percentiles(sold_out)}")
        print(f"paid units {paid_units} of {units} (oversold: {max(paid_units - units, 0)}); stock now {levels}; "
              f"check_inventory: {check.splitlines()[-1] if check else 'FAILED'}; payments without a paid order: "
              f"{orphan}; second charges for one order: {charges}")
        print(f"peak RSS: web worker {rss['web']:.0f} MiB, Celery {rss['celery']:.0f} MiB")
        manage("flash_sale", "stop", sku)
        manage("stock", "set", sku, before, "--reason", "bench/flash_sale.py: restore")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shoppers", type=int, default=10_000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--queue-after", type=int, default=8, help="in-flight checkouts before queueing")
    parser.add_argument("--global-cap", default="600/s",
                        help="a third run with this shop-wide cap (RATE_LIMITS global); '' skips it")
    parser.add_argument("--runs", default="on,off,cap",
                        help="which sales: on (gate and queue), off (neither), cap (with the global cap), front (gate "
                             "and queue, behind an nginx front cache: apt-get install nginx-light)")
    args = parser.parse_args()
    runs = set(args.runs.split(","))
    print(f"# bench/flash_sale.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    if "on" in runs:
        run_sale(label="gate and queue on", gate=True, queue_after=args.queue_after, shoppers=args.shoppers,
                 units=args.units, threads=args.threads)
    if "off" in runs:
        run_sale(label="gate and queue off", gate=False, queue_after=None, shoppers=args.shoppers,
                 units=args.units, threads=args.threads)
    if "front" in runs:
        run_sale(label="gate and queue on, nginx in front", gate=True, queue_after=args.queue_after,
                 shoppers=args.shoppers, units=args.units, threads=args.threads, front=True)
    if args.global_cap and "cap" in runs:
        run_sale(label=f"gate, queue and global cap {args.global_cap} on", gate=True, queue_after=args.queue_after,
                 shoppers=args.shoppers, units=args.units, threads=args.threads, global_cap=args.global_cap)


if __name__ == "__main__":
    main()
