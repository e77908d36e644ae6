"""The recommendations' own reads: precomputed lists by key, and products' co-purchase lists from their pair
counts, in one query."""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connections, router

from .models import PairCount, RecommendationList

MIN_SUPPORT = 2  # learning.MIN_SUPPORT and LIST_SIZE (tests/recommendations/test_learning.py: they agree)
LIST_SIZE = 30

# Stored lists by key, and for each product the LIST_SIZE products bought with it most (at least MIN_SUPPORT
# orders; ties by slug, as learning.bought_list ranks them) as "bought:<slug>", scored by orders holding both.
# One statement: the pairs come from the (product, other) index's range of each product.
_LISTS_SQL = f"""
    SELECT key, items FROM {RecommendationList._meta.db_table} WHERE key = ANY(%(keys)s)
    UNION ALL
    SELECT 'bought:' || product_slug,
           jsonb_agg(jsonb_build_array(other_slug, orders) ORDER BY orders DESC, other_slug)
    FROM (SELECT product_slug, other_slug, orders,
                 row_number() OVER (PARTITION BY product_slug ORDER BY orders DESC, other_slug) AS place
          FROM {PairCount._meta.db_table}
          WHERE product_slug = ANY(%(bought)s) AND orders >= %(support)s) ranked
    WHERE place <= %(size)s
    GROUP BY product_slug
"""  # noqa: S608 (table names from our models; every value is a bound parameter)


def lists(keys: Iterable[str], *, bought: Iterable[str] = ()) -> dict[str, list[list]]:
    """The stored lists among ``keys`` and the co-purchase lists (``bought:<slug>``) of the products ``bought``;
    missing ones are left out. One round trip."""
    keys, bought = list(keys), list(bought)
    if not bought:
        return dict(RecommendationList.objects.filter(key__in=keys).values_list("key", "items"))
    # a replica's connection for a browsing request (the database router, store/core/replicas.py)
    with connections[router.db_for_read(RecommendationList)].cursor() as cursor:
        cursor.execute(_LISTS_SQL, {"keys": keys, "bought": bought, "support": MIN_SUPPORT, "size": LIST_SIZE})
        return {key: json.loads(items) if isinstance(items, str) else items for key, items in cursor.fetchall()}
