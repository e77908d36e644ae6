"""Catalogue pages under load, served as production serves them (`make serve`: gunicorn, DEBUG off), against a
bare Django view measured in the same run.

    .venv/bin/python bench/pages.py [--seconds 10] [--connections 8] [--rounds N] [--paths /p/,/c/] [--products N]

Prints throughput and p50/p99 per page with the ratio to the bare view, peak RSS of the web and Celery workers,
and database size per 10,000 products. Loopback only; bounded by --seconds per page.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import subprocess
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import PYTHON, ROOT, ServedStore, hardware, load, side_by_side


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from store.embedded import services_for

    return services_for().urls.database_url


def catalogue_size() -> tuple[int, int]:
    """(products, bytes of the catalog and inventory schemas, indexes and TOAST included)."""
    with psycopg.connect(database_url()) as conn:
        products = conn.execute("SELECT count(*) FROM catalog.catalog_product").fetchone()[0]
        size = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('catalog', 'inventory') AND c.relkind = 'r'"
        ).fetchone()[0]
    return products, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--products", type=int, default=0, help="seed up to N products first")
    parser.add_argument("--paths", default="", help="only these of the pages, comma-separated (e.g. /p/,/c/)")
    args = parser.parse_args()

    if args.products:
        subprocess.run([PYTHON, "manage.py", "seed_catalog", "--products", str(args.products)], cwd=ROOT, check=True)

    print(f"# bench/pages.py  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"# {hardware()}")
    with ServedStore() as store:
        listing = store.get_json("/api/v1/products/?sort=newest")
        slug = listing["results"][0]["slug"]
        category = store.get_json("/api/v1/categories/")[0]["slug"]
        paths = [f"/p/{slug}/", f"/c/{category}/", "/", f"/api/v1/products/{slug}/",
                 f"/api/v1/products/?category={category}"]
        if args.paths:
            paths = [p for p in paths if any(p.startswith(prefix) for prefix in args.paths.split(","))]
        for path in ["/bench/bare/", *paths]:
            store.get(path)  # warm: fills the cache, as a shop that has been up for a minute would be
        print(f"# {listing['count']} products; {args.connections} connections, {args.seconds:.0f} s per page, "
              f"load by {'wrk' if __import__('shutil').which('wrk') else 'Python threads'}")
        shares: dict[str, list[float]] = {path: [] for path in paths}
        for round_ in range(1, args.rounds + 1):  # side by side in rounds: one slow moment cannot decide a figure
            if args.rounds > 1:
                print(f"round {round_}:")
            compared = side_by_side(
                functools.partial(load, store.base, "/bench/bare/", seconds=args.seconds, connections=args.connections),
                [functools.partial(load, store.base, p, seconds=args.seconds, connections=args.connections)
                 for p in paths])
            for row, path in zip(compared, paths, strict=True):
                shares[path].append(row.share)
        if args.rounds > 1:
            print(f"median of {args.rounds} rounds, throughput vs the bare view: " + ", ".join(
                f"{path} {sorted(v)[len(v) // 2]:.0%}" for path, v in shares.items()))
        rss = store.peak_rss_mib()
        print(f"peak RSS: web worker {rss['web']:.0f} MiB, Celery {rss['celery']:.0f} MiB")
        products, size = catalogue_size()  # while the store (and its embedded database) is up
    if products:
        print(f"database: {size / 2**20:.1f} MiB for {products} products (catalog + inventory) = "
              f"{size / products * 10_000 / 2**20:.1f} MiB per 10,000 products")


if __name__ == "__main__":
    main()
