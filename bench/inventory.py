"""Reservations per second and p99 on one hot SKU and spread over 1,000 SKUs, at 1, 8, 32 and 64 concurrent
workers, against two ceilings measured on the same server in the same run: a bare conditional UPDATE
(`UPDATE ... SET qty = qty - 1 WHERE id = 1 AND qty >= 1`) and a bare lock-update-insert transaction.

    .venv/bin/python bench/inventory.py [--seconds 5] [--workers 1,8,32,64]

Workers are processes, each with its own PostgreSQL connection. It uses a scratch database (store_bench) on the
configured or embedded server and drops it at the end. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import hardware  # noqa: E402

BENCH_DB = "store_bench"


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def run_workers(workers: int, seconds: float, work) -> tuple[float, float, int]:
    """Fork `workers` processes, each with its own database connection, calling work(state) in a loop for
    `seconds` once all are ready; returns (successful ops/s, p99 ms, errors). Processes, not threads, so the
    client's Python is not one GIL competing with the database for the two cores it would get anyway."""
    from django.db import connections

    connections.close_all()  # never share the parent's socket with the children
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Barrier(workers + 1)
    results = ctx.Queue()

    def loop(index: int):
        state = {"index": index, "rng": random.Random(index)}
        mine, failed, first = [], 0, ""
        ready.wait()
        stop_at = time.perf_counter() + seconds
        while (t0 := time.perf_counter()) < stop_at:
            try:
                work(state)
            except Exception as exc:  # counted: a refusal or an error is not a reservation
                failed += 1
                first = first or f"{type(exc).__name__}: {exc}"[:200]
            mine.append(time.perf_counter() - t0)
        if "close" in state:
            state["close"]()
        connections.close_all()
        results.put((mine, failed, first))

    procs = [ctx.Process(target=loop, args=(i,)) for i in range(workers)]
    for proc in procs:
        proc.start()
    ready.wait()
    started = time.perf_counter()
    gathered = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    latencies = [x for mine, _, _ in gathered for x in mine]
    errors = sum(failed for _, failed, _ in gathered)
    first = next((f for _, _, f in gathered if f), "")
    if first:
        print(f"  first error: {first}", file=sys.stderr)
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000 if len(latencies) > 1 else 0.0
    return (len(latencies) - errors) / elapsed, p99, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--workers", default="1,8,32,64")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    services_lease = None
    if not os.environ.get("DATABASE_URL"):
        from store.embedded import services_for

        services_lease = services_for()
        urls = services_lease.acquire()
        os.environ["DATABASE_URL"] = urls.database_url
        os.environ.setdefault("REDIS_URL", urls.redis_url)
    admin_url = os.environ["DATABASE_URL"]
    bench_url = _with_database(admin_url, BENCH_DB)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    try:
        os.environ["DATABASE_URL"] = bench_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
        os.environ.setdefault("DEBUG", "0")
        os.environ.setdefault("SECRET_KEY", "bench-only")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        report(counts, args.seconds, bench_url)
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        if services_lease is not None:
            services_lease.release()


def report(counts: list[int], seconds: float, bench_url: str) -> None:
    from django.db import connection, transaction

    from inventory import services

    with psycopg.connect(bench_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_stock (id int PRIMARY KEY, qty int NOT NULL)")
        conn.execute("CREATE TABLE bench_log (id bigserial PRIMARY KEY, stock_id int, qty int, at timestamptz)")
        conn.execute("INSERT INTO bench_stock SELECT g, 1000000000 FROM generate_series(1, 1000) g")
    services.stock_levels_ensure(initial_on_hand={"HOT": 1_000_000})
    spread = [f"SPREAD-{i:04d}" for i in range(1000)]
    services.stock_levels_ensure(initial_on_hand=dict.fromkeys(spread, 1_000_000))

    def raw(state):
        if "conn" not in state:
            state["conn"] = psycopg.connect(bench_url, autocommit=True)
            state["close"] = state["conn"].close
        return state["conn"]

    def bare_update(state):
        raw(state).execute("UPDATE bench_stock SET qty = qty - 1 WHERE id = 1 AND qty >= 1")

    def bare_transaction(state):
        conn = raw(state)
        with conn.transaction():
            conn.execute("SELECT qty FROM bench_stock WHERE id = 1 FOR UPDATE")
            conn.execute("UPDATE bench_stock SET qty = qty - 1 WHERE id = 1")
            conn.execute("INSERT INTO bench_log (stock_id, qty, at) VALUES (1, 1, now())")

    def reserve(sku_of):
        def work(state):
            state.setdefault("close", connection.close)
            with transaction.atomic():
                services.stock_reserve(reference=f"b-{uuid.uuid4().hex[:20]}", lines={sku_of(state): 1})
        return work

    cases = [
        ("bare UPDATE (hot row)", bare_update),
        ("bare lock-update-insert tx (hot row)", bare_transaction),
        ("stock_reserve, hot SKU", reserve(lambda s: "HOT")),
        ("stock_reserve, 1,000 SKUs", reserve(lambda s: s["rng"].choice(spread))),
    ]
    print(f"# bench/inventory.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    with psycopg.connect(bench_url) as conn:
        print(f"# {conn.execute('SELECT version()').fetchone()[0].split(' on ')[0]}; "
              f"{seconds:.0f} s per cell; workers are processes with their own connections")
    header = f"{'case':<40}" + "".join(f"{f'{w} w ops/s':>13}{'p99 ms':>9}" for w in counts)
    print(header)
    results = {}
    for name, work in cases:
        cells = []
        for workers in counts:
            rate, p99, errors = run_workers(workers, seconds, work)
            results[(name, workers)] = rate
            cells.append(f"{rate:>13.0f}{p99:>9.1f}" + ("" if not errors else f" ({errors} errors)"))
        print(f"{name:<40}" + "".join(cells), flush=True)
    for workers in counts:
        ceiling = results[("bare lock-update-insert tx (hot row)", workers)]
        hot = results[("stock_reserve, hot SKU", workers)]
        print(f"hot SKU at {workers} workers: {hot / ceiling:.0%} of the bare transaction")
    problems = services.stock_invariant_violations()
    print(f"check_inventory after the run: {'clean' if not problems else problems[:3]}")


if __name__ == "__main__":
    main()
