"""Browsing and checkouts together, on one PostgreSQL and then on a primary with a streaming replica (issue 20's
performance item): `make serve` is started twice, once with REPLICAS=0 and once with REPLICAS=1, and each time
browsing load (wrk on a category page filtered by a random price ceiling, keep-alive connections, anonymous: ~99,000
different listings, so nearly every request misses every cache and reads the catalogue, as a listing or search
nobody asked for lately does: the reads the router sends to a replica) runs for --seconds while checkout clients buy
one unit again and again (the writes and stock checks that stay on the primary). Prints each side's throughput in
both runs, the replica's share of the reads (its committed transactions and rows returned against the primary's,
from pg_stat_database), and the replay lag seen.

    .venv/bin/python bench/replicas.py [--seconds 10] [--connections 8] [--clients 4]

Cached pages reach no database at all, so they are not what a replica is for; the misses are. Both servers run on
this one machine, so the replica's replay competes with the primary and the web workers for the same cores: the
figures say what the routing costs and carries here, not what a second machine would add. It prints figures; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.checkout import Api, buy, manage
from bench.harness import ServedStore, hardware, load, load_tool, probe

DATABASE_STATS = "SELECT xact_commit, tup_returned FROM pg_stat_database WHERE datname = current_database()"


def stats(url: str) -> tuple[int, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        return conn.execute(DATABASE_STATS).fetchone()


def replay_lag_ms(url: str) -> float:
    with psycopg.connect(url, autocommit=True) as conn:
        lag = conn.execute("SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE "
                           "extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000 END").fetchone()[0]
    return float(lag or 0)


def run(replicas: int, args) -> dict:
    env = {"REPLICAS": str(replicas)}
    with ServedStore(extra_env=env) as store:
        web = store.web_env()
        primary = web["DATABASE_URL"]
        replica = (web.get("DATABASE_REPLICA_URLS") or "").split(",")[0] if replicas else ""
        api = Api(store.port)
        listing = store.get_json("/api/v1/products/?in_stock=true&sort=name")["results"]
        product = store.get_json(f"/api/v1/products/{listing[0]['slug']}/")
        category, sku = product["category"], product["variants"][0]["sku"]
        before = manage("stock", "show", sku).split()[0].split("=")[1]
        manage("stock", "set", sku, "1000000", "--reason", "bench/replicas.py")
        page = f"/c/{category}/"
        status, size = probe(store.base, page)
        if status != 200:
            raise SystemExit(f"{page} answered {status}")
        load(store.base, page, seconds=2, connections=args.connections, vary="max_price")  # warm every worker

        time.sleep(11)  # the warm-up's counts reach pg_stat_database before the first reading
        primary_before, replica_before = stats(primary), stats(replica) if replica else (0, 0)
        stop_at, paid, latencies, lags, answers = time.monotonic() + args.seconds, [0], [], [], {}
        lock = threading.Lock()

        def client(i: int) -> None:
            n = 0
            while time.monotonic() < stop_at:
                status, took, body = buy(api, sku, replicas * 10_000_000 + i * 100_000 + n)
                n += 1
                with lock:
                    answer = "paid" if status == 201 else f"{status} {body.get('code', '')}".strip()
                    answers[answer] = answers.get(answer, 0) + 1
                    if status == 201:
                        paid[0] += 1
                        latencies.append(took)

        def watch_lag() -> None:
            while replica and time.monotonic() < stop_at:
                lags.append(replay_lag_ms(replica))
                time.sleep(0.25)

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.clients + 1) as pool:
            jobs = [pool.submit(client, i) for i in range(args.clients)] + [pool.submit(watch_lag)]
            browsing = load(store.base, page, seconds=args.seconds, connections=args.connections, vary="max_price")
            for job in jobs:
                job.result()
        elapsed = time.monotonic() - started
        time.sleep(11)  # an idle backend reports its counts to pg_stat_database within 10 s
        primary_after, replica_after = stats(primary), stats(replica) if replica else (0, 0)
        manage("stock", "set", sku, before, "--reason", "bench/replicas.py: restore")
        q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        return {
            "replicas": replicas, "page": page, "bytes": size, "browsing": browsing,
            "checkouts": paid[0] / elapsed, "checkout_p50": q[49] * 1000, "checkout_p99": q[98] * 1000,
            "primary": [a - b for a, b in zip(primary_after, primary_before, strict=True)],
            "replica": [a - b for a, b in zip(replica_after, replica_before, strict=True)],
            "answers": answers, "lag_max": max(lags, default=0.0), "rss": store.peak_rss_mib(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8, help="browsing connections (wrk)")
    parser.add_argument("--clients", type=int, default=4, help="checkout clients")
    args = parser.parse_args()
    print(f"# bench/replicas.py --seconds {args.seconds:g} --connections {args.connections} --clients "
          f"{args.clients}  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}; load: {load_tool()}")
    results = [run(0, args), run(1, args)]
    single = results[0]
    for r in results:
        b = r["browsing"]
        name = "one PostgreSQL" if not r["replicas"] else "primary + 1 replica"
        reads = r["replica"][1] / max(1, r["replica"][1] + r["primary"][1])
        print(f"{name}: browsing {r['page']} {b.rps:.0f}/s (p50 {b.p50_ms:.1f} ms, p99 {b.p99_ms:.1f} ms, "
              f"{b.errors} errors) = {b.rps / max(1e-9, single['browsing'].rps):.0%} of one server's; checkouts "
              f"{r['checkouts']:.1f} paid/s (p50 {r['checkout_p50']:.0f} ms, p99 {r['checkout_p99']:.0f} ms) = "
              f"{r['checkouts'] / max(1e-9, single['checkouts']):.0%} of one server's; checkout answers {r['answers']}")
        print(f"    transactions: primary {r['primary'][0]}, replica {r['replica'][0]}; rows returned: primary "
              f"{r['primary'][1]}, replica {r['replica'][1]} ({reads:.0%} of rows read on the replica); replay lag "
              f"max {r['lag_max']:.1f} ms; peak RSS web {r['rss']['web']:.0f} MiB, Celery {r['rss']['celery']:.0f} MiB")


if __name__ == "__main__":
    main()
