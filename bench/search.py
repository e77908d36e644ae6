"""Search latency at scale: the catalogue's search (selectors.product_list: the count, a page and every facet, the
cache cleared before each query) over a realistic mix of what shoppers type, against a bare PostgreSQL full-text
statement (count and one page ranked, on the same stored documents) and a plain ILIKE, in the same run.

    .venv/bin/python bench/search.py [--products 100000] [--queries 40] [--data-dir .data/bench-search-100000]

It seeds N products into its own embedded PostgreSQL and Redis (``--data-dir``; default .data/bench-search-N) with
the catalogue's own seeding (seed_catalog, idempotent: a second run reuses them), gives about 40% of them a rating
(the catalogue's copy of what reviews would set), and times, per kind of query, ``--queries`` distinct queries
drawn from the seeded names:

  word       a whole word of a name ("merino")
  prefix     its first 3-5 letters, as typed before the word is done ("meri")
  typo       one letter dropped or two swapped ("merion"), corrected by the lexicon when it finds almost nothing
  two words  two words of one name ("merino beanie")
  rated      a word, 4 stars & up, sorted by rating (min_rating=4, sort=rating)
  category   a department's listing sorted by rating, in stock only (no words)

Prints p50/p95/p99 per kind and for the whole mix, and the ceilings. It asserts nothing.
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
parser.add_argument("--products", type=int, default=20_000)
parser.add_argument("--queries", type=int, default=40, help="distinct queries per kind")
parser.add_argument("--data-dir", help="its own embedded servers' data (default .data/bench-search-<products>)")
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--no-ilike", action="store_true", help="skip the ILIKE comparison (slow at 100,000)")
args = parser.parse_args()

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
os.environ["DEBUG"] = "0"
os.environ.setdefault("SECRET_KEY", "bench-only")
os.environ["RATE_LIMITS"] = "off"
for name in ("DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "ELASTICSEARCH_URL"):
    os.environ.pop(name, None)  # its own servers, never a shop's
os.environ["STORE_DATA_DIR"] = str(Path(args.data_dir or ROOT / ".data" / f"bench-search-{args.products}").resolve())

from store.embedded import attach_if_needed  # noqa: E402

services = attach_if_needed()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from catalog import selectors  # noqa: E402
from catalog import services as catalog_services  # noqa: E402
from catalog.types import ProductFilters  # noqa: E402


def seed() -> int:
    call_command("migrate", verbosity=0)
    call_command("seed_catalog", products=args.products, seed=args.seed, no_images=True)
    with connection.cursor() as cursor:
        # Ratings as reviews would leave them in the catalogue's copy (rating_count, rating_average): about 40% of
        # the products, skewed to 4-5 stars. Set once, in bulk (the reviews app writes them one review at a time).
        cursor.execute("SELECT count(*) FROM catalog.catalog_product WHERE rating_count > 0")
        if not cursor.fetchone()[0]:
            cursor.execute("""
                UPDATE catalog.catalog_product SET rating_count = 1 + (id * 7919) % 40,
                       rating_average = round((2.5 + ((id * 104729) % 251) / 100.0)::numeric, 2)
                 WHERE (id * 2654435761) % 10 < 4""")
        cursor.execute("SELECT count(*) FROM catalog.catalog_product")
        products = cursor.fetchone()[0]
    catalog_services.catalog_analyze()
    return products


def vocabulary(rng: random.Random) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """Words of the seeded names (4+ letters), pairs of words from one name, and the departments."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM catalog.catalog_product ORDER BY id")
        names = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT slug FROM catalog.catalog_category WHERE parent_id IS NULL ORDER BY slug")
        departments = [row[0] for row in cursor.fetchall()]
    words, pairs = set(), set()
    for name in rng.sample(names, min(len(names), 3000)):
        own = [w for w in selectors.search_words(name) if len(w) >= 4 and w.isalpha()]
        words.update(own)
        if len(own) >= 2:
            pairs.add(tuple(rng.sample(own, 2)))
    return sorted(words), sorted(pairs), departments


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    if rng.random() < 0.5:
        return word[:i] + word[i + 1:]  # a letter dropped
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two neighbours swapped


def mix(rng: random.Random, n: int) -> dict[str, list[ProductFilters]]:
    words, pairs, departments = vocabulary(rng)
    long_words = [w for w in words if len(w) >= 5]
    return {
        "word": [ProductFilters(q=w) for w in rng.sample(words, n)],
        "prefix": [ProductFilters(q=w[:rng.randint(3, min(5, len(w) - 1))]) for w in rng.sample(long_words, n)],
        "typo": [ProductFilters(q=typo(w, rng)) for w in rng.sample(long_words, n)],
        "two words": [ProductFilters(q=" ".join(p)) for p in rng.sample(pairs, min(n, len(pairs)))],
        "rated": [ProductFilters(q=w, min_rating=Decimal(4), sort="rating") for w in rng.sample(words, n)],
        "category": [ProductFilters(category=rng.choice(departments), sort="rating", in_stock=True,
                                    min_price=Decimal(rng.choice([0, 10, 25])) or None) for _ in range(n)],
    }


def quantiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms"


def timed(call, items) -> list[float]:
    samples = []
    for item in items:
        # Every query a miss: the search, not the cache. What every listing shares (the category tree the facets
        # name) is cached in a running shop, whichever words come next, so it is read back in before the clock.
        caches[settings.CACHE_ALIAS].clear()
        selectors.category_tree()
        t0 = time.perf_counter()
        call(item)
        samples.append(time.perf_counter() - t0)
    return samples


def bare_fts(word: str) -> None:
    """What PostgreSQL alone does for a word: the GIN index, a count and one ranked page; no facets, prefix of
    the words as written only, no stems, typos or filters."""
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH m AS MATERIALIZED (
                SELECT id, name, ts_rank(search_document, q) AS rank
                  FROM catalog.catalog_product, to_tsquery('simple', %s) AS q
                 WHERE is_active AND search_document @@ q)
            SELECT (SELECT count(*) FROM m), (SELECT array_agg(id) FROM (
                SELECT id FROM m ORDER BY rank DESC, name, id LIMIT 24) AS page)""", [f"{word}:*"])
        cursor.fetchone()


def ilike(word: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog.catalog_product WHERE is_active AND (name ILIKE %s OR "
                       "description ILIKE %s)", [f"%{word}%"] * 2)
        cursor.execute("SELECT id, name FROM catalog.catalog_product WHERE is_active AND (name ILIKE %s OR "
                       "description ILIKE %s) ORDER BY name LIMIT 24", [f"%{word}%"] * 2)


def main() -> None:
    t0 = time.perf_counter()
    products = seed()
    print(f"# bench/search.py: {products} products ({time.perf_counter() - t0:.0f} s to seed or find them), "
          f"{args.queries} queries per kind, data in {os.environ['STORE_DATA_DIR']}")
    rng = random.Random(args.seed)
    kinds = mix(rng, args.queries)
    for warm in list(kinds.values())[:1]:
        timed(lambda f: selectors.product_list(filters=f), warm[:5])  # connections and plans warm
    every = []
    for kind, items in kinds.items():
        samples = timed(lambda f: selectors.product_list(filters=f), items)
        every.extend(samples)
        print(f"search service, {kind:<9} ({len(samples):3} queries): {quantiles(samples)}")
    print(f"search service, the whole mix ({len(every)} queries): {quantiles(every)}")
    words = [f.q for f in kinds["word"]]
    print(f"ceiling: bare PostgreSQL full text, count + ranked page of a word:  {quantiles(timed(bare_fts, words))}")
    if not args.no_ilike:
        print(f"plain ILIKE '%word%' on name and description (count and page):  {quantiles(timed(ilike, words))}")


try:
    main()
finally:
    connection.close()
    if services is not None:
        services.release()
