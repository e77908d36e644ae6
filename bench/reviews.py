"""A product's reviews through the API when it has many: GET /api/v1/products/<slug>/reviews/ for each sort and
pages spread over all of them, through the whole Django stack in this process (Django's test client: middleware,
session, DRF, the JSON body; no network), against a bare SQL read of the same page as the ceiling.

    .venv/bin/python bench/reviews.py [--reviews 10000] [--requests 200] [--data-dir .data/bench-reviews]

It uses its own embedded PostgreSQL and Redis (``--data-dir``) and makes one product with ``--reviews`` published
reviews by as many accounts (written in bulk with the reviews app's model, since making 10,000 verified buyers
through the checkout would take an hour; the product's rating is then recounted with ``reviews recount``, so it
is what the services would have kept). Prints p50/p95/p99 per sort. It asserts nothing.
"""

import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--reviews", type=int, default=10_000)
parser.add_argument("--requests", type=int, default=200, help="requests per sort")
parser.add_argument("--data-dir", help="its own embedded servers' data (default .data/bench-reviews)")
args = parser.parse_args()

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["RATE_LIMITS"] = "off"
for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "ELASTICSEARCH_URL"):
    os.environ.pop(name, None)  # its own servers, never a shop's
os.environ["STORE_DATA_DIR"] = str(Path(args.data_dir or ROOT / ".data" / "bench-reviews").resolve())

from store.embedded import attach_if_needed  # noqa: E402

services = attach_if_needed()

import django  # noqa: E402

django.setup()

from django.core.management import CommandError, call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from catalog import services as catalog_services  # noqa: E402
from catalog.types import ProductSpec, VariantSpec  # noqa: E402
from reviews.models import Review  # noqa: E402
from reviews.services import SAMPLE_TEXTS  # noqa: E402
from reviews.types import SORTS  # noqa: E402

SLUG = "bench-reviewed-boot"


def seed() -> None:
    call_command("migrate", verbosity=0)
    catalog_services.catalog_import(products=[ProductSpec(
        slug=SLUG, name="Bench Reviewed Boot", description="A boot many people bought.",
        category_path=(("footwear", "Footwear"), ("boots", "Boots")),
        variants=(VariantSpec(sku="BENCH-BOOT-1", name="42", attributes={"size": "42"}, price=Decimal("100.00"),
                              on_hand=10),))])
    have = Review.objects.filter(product_slug=SLUG).count()
    if have < args.reviews:
        rng = random.Random(1)
        rows = []
        for user_id in range(1_000_000 + have, 1_000_000 + args.reviews):
            rating = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 12, 8, 5])[0]
            title, body = rng.choice(SAMPLE_TEXTS[rating])
            rows.append(Review(product_slug=SLUG, user_id=user_id, author_name="Bench", sku="BENCH-BOOT-1",
                               variant_name="42", rating=rating, title=title, body=body,
                               helpful_count=int(rng.paretovariate(1.5)) - 1))
        Review.objects.bulk_create(rows, batch_size=2000)
        try:
            call_command("reviews", "recount")  # reports the bulk rows' difference and sets the rating right
        except CommandError as exc:  # "1 product rating(s) differed": expected after a bulk insert
            print(f"(recount after the bulk insert: {exc})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reviews.reviews_review")


def quantiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49] * 1000:6.2f} ms  p95 {q[94] * 1000:6.2f} ms  p99 {q[98] * 1000:6.2f} ms"


def main() -> None:
    seed()
    count = Review.objects.filter(product_slug=SLUG, status="published").count()
    pages = -(-count // 10)
    print(f"# bench/reviews.py: one product with {count} published reviews ({pages} pages), "
          f"{args.requests} requests per sort, data in {os.environ['STORE_DATA_DIR']}")
    client = Client()
    rng = random.Random(2)
    for _ in range(20):
        client.get(f"/api/v1/products/{SLUG}/reviews/")  # connections, caches of the product entry, plans
    every = []
    for sort in SORTS:
        samples = []
        for i in range(args.requests):
            # half the requests read the first pages (what shoppers read), half anywhere up to the last
            page = rng.randint(1, 3) if i % 2 else rng.randint(1, pages)
            t0 = time.perf_counter()
            response = client.get(f"/api/v1/products/{SLUG}/reviews/", {"sort": sort, "page": page})
            samples.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content
        every.extend(samples)
        print(f"GET …/reviews/?sort={sort:<8} {quantiles(samples)}")
    print(f"GET …/reviews/, every sort      {quantiles(every)}")
    bare = []
    with connection.cursor() as cursor:
        for _ in range(args.requests):
            offset = 10 * (rng.randint(1, pages) - 1)
            t0 = time.perf_counter()
            cursor.execute("SELECT id, rating, title, body FROM reviews.reviews_review WHERE product_slug = %s AND "
                           "status = 'published' ORDER BY id DESC LIMIT 10 OFFSET %s", [SLUG, offset])
            cursor.fetchall()
            bare.append(time.perf_counter() - t0)
    print(f"ceiling: the page's bare SELECT     {quantiles(bare)}")


try:
    main()
finally:
    connection.close()
    if services is not None:
        services.release()
