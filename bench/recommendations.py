"""The recommender at scale: a full rebuild from N learned orders (default 100,000) of the seeded history, the
offline evaluation on them, the incremental update per order, serving a product's sections, and the size of the
precomputed lists (measured for the sample catalogue, and computed in memory for 10,000 products).

    .venv/bin/python -m store.launcher exec -- .venv/bin/python bench/recommendations.py [--orders 100000]

It runs in a scratch database (Django's test database for the configured server, created and dropped here) and
writes the learned orders straight into the recommender's own table (what learning N orders leaves there), so
it measures the recommender, not the checkout. It prints figures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
os.environ["CACHE_KEY_PREFIX"] = "bench-recommendations"  # never the shop's cached cards and pages


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (f"p50 {statistics.median(ordered) * 1000:.2f} ms, p95 {ordered[int(len(ordered) * 0.95)] * 1000:.2f} ms"
            f" ({len(ordered)} samples)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=240)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from bench.harness import hardware
    from catalog import services as catalog_services
    from catalog.sample_data import sample_products
    from orders.sample_data import sample_baskets
    from recommendations import learning, services
    from recommendations.models import Purchase, RecommendationList

    print(hardware() if callable(hardware) else "")
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        print(f"scratch database {test_db}")
        catalog_services.catalog_import(products=list(sample_products(count=args.products, seed=1,
                                                                      with_images=False)))
        features = catalog_services.product_features()
        started = time.perf_counter()
        baskets = [b for _, b in sample_baskets(features, orders=args.orders, seed=1)]
        print(f"{len(baskets)} baskets generated in {time.perf_counter() - started:.1f} s "
              f"({statistics.mean(len(b) for b in baskets):.2f} products each)")
        start = datetime(2026, 1, 1, tzinfo=UTC)
        Purchase.objects.bulk_create([Purchase(order_number=f"B-{n}", products=sorted(set(b)),
                                               paid_at=start + timedelta(minutes=n)) for n, b in enumerate(baskets)],
                                     batch_size=5000)

        report = services.recommendations_rebuild()
        print(f"rebuild from {report.purchases} orders: {report.seconds:.2f} s ({report.products} products, "
              f"{report.pairs} pairs, {report.lists} lists)")
        started = time.perf_counter()
        for measure in services.recommendations_evaluate():
            print(measure.line())
        print(f"(evaluate: {time.perf_counter() - started:.1f} s)")

        slugs = [p["slug"] for p in features]
        category = {p["slug"]: p["category"] for p in features}
        rng = random.Random(7)
        timings = []
        for n, basket in enumerate(sample_baskets(features, orders=1000, seed=99)):
            began = time.perf_counter()
            services.purchase_record(order_number=f"I-{n}", products={s: category[s] for s in basket[1]},
                                     paid_at=datetime.now(UTC))
            timings.append(time.perf_counter() - began)
        print(f"incremental update per order, committed: {_ms(timings)}")
        timings, statements = [], []
        with transaction.atomic():  # the same inside one transaction: what an update costs before its COMMIT
            for n, basket in enumerate(sample_baskets(features, orders=1000, seed=98)):
                began = time.perf_counter()
                with CaptureQueriesContext(connection) as queries:
                    services.purchase_record(order_number=f"J-{n}", products={s: category[s] for s in basket[1]},
                                             paid_at=datetime.now(UTC))
                timings.append(time.perf_counter() - began)
                statements.append(len(queries.captured_queries))
        print(f"incremental update per order, before its commit: {_ms(timings)}, "
              f"{statistics.mean(statements):.1f} statements")

        for slug in slugs:  # warm the cards' cache, as a running shop has it
            services.product_sections(slug=slug, category=category[slug])
        timings = []
        for _ in range(2000):
            slug = rng.choice(slugs)
            began = time.perf_counter()
            services.product_sections(slug=slug, category=category[slug])
            timings.append(time.perf_counter() - began)
        print(f"a product page's two sections (one query + one Redis round trip): {_ms(timings)}")

        with connection.cursor() as cursor:
            table = RecommendationList._meta.db_table
            sql = f"SELECT pg_total_relation_size(%s), count(*), avg(pg_column_size(items)) FROM {table}"  # noqa: S608
            cursor.execute(sql, [table])
            total, rows, average = cursor.fetchone()
        print(f"stored lists: {rows} rows, {total / 1024:.0f} KiB with indexes, {average:.0f} B of items per list")

        big = [{"slug": s.slug, "name": s.name, "description": s.description, "category": s.category_path[-1][0],
                "attributes": sorted({str(v) for variant in s.variants for v in variant.attributes.values()})}
               for s in sample_products(count=10_000, seed=1, with_images=False)]
        started = time.perf_counter()
        similar = learning.similar_lists(big)
        seconds = time.perf_counter() - started
        big_baskets = [b for _, b in sample_baskets(big, orders=args.orders, seed=1)]
        started = time.perf_counter()
        bought = learning.bought_lists(*learning.basket_counts(big_baskets))
        counted = time.perf_counter() - started
        size = sum(len(json.dumps(items)) for items in [*similar.values(), *bought.values()])
        print(f"10,000 products: similar items in {seconds:.1f} s, co-purchase lists from {args.orders} orders in "
              f"{counted:.1f} s; {len(similar) + len(bought)} lists, {size / 2**20:.1f} MiB of JSON "
              f"({size / 10_000 / 1024:.1f} KiB per product)")
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)


if __name__ == "__main__":
    main()
