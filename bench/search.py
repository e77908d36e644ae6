"""Search latency on the seeded catalogue: the search service (uncached: every query distinct) against a plain
`ILIKE '%term%'` on the same data in the same run.

    .venv/bin/python manage.py shell < bench/search.py      (or: .venv/bin/python bench/search.py)

Prints p50/p95 per method and the number of products. It asserts nothing.
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "store.settings")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only")
if not os.environ.get("DATABASE_URL"):
    from store.embedded import services_for

    _services = services_for()
    _urls = _services.acquire()
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = _urls.database_url, _urls.redis_url

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import caches  # noqa: E402
from django.db import connection  # noqa: E402

from catalog import selectors  # noqa: E402
from catalog.types import ProductFilters  # noqa: E402

WORDS = ["runner", "trail", "merino", "linen", "towel", "jacket", "boot", "tent", "mug", "stove", "denim", "cap",
         "pack", "bottle", "wool", "sandal", "fleece", "quilt", "knit", "hemp", "canvas", "oak", "sky", "ridge"]
TYPOS = ["runer", "meriono", "jakcet", "sandl", "flece"]


def timed(fn, n=60):
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:6.1f} ms  p95 {q[94] * 1000:6.1f} ms"


def service_query():
    caches[settings.CACHE_ALIAS].clear()  # every query a miss (the search, not the cache); carts are elsewhere
    words = random.sample(WORDS + TYPOS, random.choice([1, 1, 2]))
    selectors.product_list(filters=ProductFilters(q=" ".join(words)))


def ilike_query():
    term = random.choice(WORDS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM catalog.catalog_product WHERE is_active AND (name ILIKE %s OR "
                       "description ILIKE %s)", [f"%{term}%"] * 2)
        cursor.execute("SELECT id, name FROM catalog.catalog_product WHERE is_active AND (name ILIKE %s OR "
                       "description ILIKE %s) ORDER BY name LIMIT 24", [f"%{term}%"] * 2)


with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM catalog.catalog_product")
    products = cursor.fetchone()[0]
random.seed(1)
print(f"# bench/search.py: {products} products")
print(f"search service (count, page, facets; typos included): {timed(service_query)}")
print(f"plain ILIKE '%term%' (count and page):                 {timed(ilike_query)}")
