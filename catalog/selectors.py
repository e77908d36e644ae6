"""The catalogue's own reads for its pages and API, served from the Redis cache where they can be.

Entries are versioned (store.core.cache) by scopes: one per product page, one per category's listings, one for the
shop-wide lists and one for the category tree. services bump exactly the scopes a change affects, after commit,
so a shopper never sees a stale price after an edit.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from decimal import Decimal
from itertools import pairwise

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.expressions import RawSQL

from inventory import services as inventory_services
from store.core.cache import versioned

from .models import Category, Product, Variant
from .types import InvalidPage, ProductFilters, ProductNotFound, UnknownCategory

SORTS = {
    "relevance": None,
    "price": ("price_from", "id"),
    "-price": ("-price_from", "-id"),
    "name": ("name", "id"),
    "newest": ("-created_at", "-id"),
}
PRICE_BUCKETS = [Decimal(b) for b in ("0", "25", "50", "100", "200", "500")]
ALL = "all"  # every listing and the home page depend on it
CATEGORIES = "categories"  # category names and the tree, shown on every product page


WORD = re.compile(r"[^\W_]+", re.UNICODE)


_MATCHING_SQL = f"""
    SELECT id FROM {Product._meta.db_table} WHERE search_document @@ to_tsquery('english', %s)
    UNION SELECT id FROM {Product._meta.db_table} WHERE name %%> %s
"""  # noqa: S608 (the table name is our model's; the words are bound parameters)


def search_words(text: str) -> list[str]:
    """The words of a shopper's query: letters and digits only (so no query syntax can leak into tsquery), at
    most 8 words of at most 40 characters."""
    return [w[:40].lower() for w in WORD.findall(text or "")][:8]


# ---------------------------------------------------------------- cache scopes
def product_scopes(slug: str) -> tuple[str, ...]:
    return (CATEGORIES, f"p:{slug}")


def listing_scopes(category: str = "") -> tuple[str, ...]:
    # a category's listing ignores products of other categories; the shop-wide lists depend on every product
    return (CATEGORIES, f"c:{category}") if category else (ALL, CATEGORIES)


def _cached(key: str, scopes: tuple[str, ...], build):
    return versioned(f"catalog:{key}", scopes, build, timeout=settings.CATALOG_CACHE_SECONDS,
                     is_miss=lambda value: isinstance(value, dict) and value.get("missing", False))


# ---------------------------------------------------------------- categories
def category_tree() -> list[dict]:
    """Every category with its parent: the menu, breadcrumbs and filters. Changes only when categories do."""

    def build():
        categories = list(Category.objects.select_related("parent").order_by("position", "name"))
        return {"tree": [
            {"id": c.id, "slug": c.slug, "name": c.name, "description": c.description,
             "parent": c.parent.slug if c.parent_id else None}
            for c in categories
        ]}

    return _cached("categories", (CATEGORIES,), build)["tree"]


def category_counts() -> list[dict]:
    """The category tree with the number of active products in each category and below it."""

    def build():
        tree = category_tree()
        direct = dict(
            _visible().values_list("category_id").annotate(n=Count("id")).values_list("category_id", "n")
        )
        children: dict[str | None, list[dict]] = {}
        for c in tree:
            children.setdefault(c["parent"], []).append(c)

        def total(c: dict) -> int:
            return direct.get(c["id"], 0) + sum(total(child) for child in children.get(c["slug"], []))

        return {"tree": [{**c, "product_count": total(c)} for c in tree]}

    return _cached("category-counts", (ALL, CATEGORIES), build)["tree"]


def category_get(*, slug: str) -> dict:
    for c in category_tree():
        if c["slug"] == slug:
            return c
    raise UnknownCategory(slug)


def category_descendant_ids(*, slug: str) -> list[int]:
    tree = category_tree()
    by_parent: dict[str | None, list[dict]] = {}
    for c in tree:
        by_parent.setdefault(c["parent"], []).append(c)
    root = category_get(slug=slug)
    ids, stack = [], [root]
    while stack:
        c = stack.pop()
        ids.append(c["id"])
        stack.extend(by_parent.get(c["slug"], []))
    return ids


def category_breadcrumbs(*, slug: str) -> list[dict]:
    by_slug = {c["slug"]: c for c in category_tree()}
    trail, current = [], by_slug.get(slug)
    while current is not None and len(trail) < 20:
        trail.append(current)
        current = by_slug.get(current["parent"])
    return list(reversed(trail))


# ---------------------------------------------------------------- product cards and listings
def _card(product: Product) -> dict:
    images = list(product.images.all())
    return {
        "slug": product.slug,
        "name": product.name,
        "price": f"{product.price_from:.2f}",
        "currency": settings.STORE_CURRENCY,
        "in_stock": product.in_stock,
        "image_url": images[0].image.url if images else None,
        "image_alt": (images[0].alt_text or product.name) if images else product.name,
        "url": product.get_absolute_url(),
        "category": product.category.slug,
    }


def _visible():
    return Product.objects.filter(is_active=True, price_from__isnull=False)


def _filtered(filters: ProductFilters, *, ranked: bool = True):
    """The visible products matching the filters; ``ranked`` adds the relevance score (listings sort by it; counts
    and facets do not need it, and computing it for every match is most of their cost)."""
    qs = _visible()
    rank = None
    if filters.category:
        qs = qs.filter(category_id__in=category_descendant_ids(slug=filters.category))
    if filters.min_price is not None:
        qs = qs.filter(price_from__gte=filters.min_price)
    if filters.max_price is not None:
        qs = qs.filter(price_from__lte=filters.max_price)
    if filters.in_stock:
        qs = qs.filter(in_stock=True)
    for name, value in sorted(filters.attributes.items()):  # names checked by services.product_filters_parse
        qs = qs.filter(id__in=Variant.objects.filter(**{f"attributes__{name}": value}).values("product_id"))
    if filters.q:
        words = search_words(filters.q)
        if words:
            # Every word, as a prefix ("runn" finds running), stemmed (running finds run), ranked by weight; or,
            # for typos ("snekers"), close enough to a word of the name by trigram similarity.
            query = SearchQuery(" & ".join(f"{w}:*" for w in words), search_type="raw", config="english")
            phrase = " ".join(words)
            rank = SearchRank(F("search_document"), query) + TrigramWordSimilarity(phrase, "name")
            tsquery = " & ".join(f"{w}:*" for w in words)
            # Two index scans (GIN full text, GIN trigram) joined by UNION: an OR of them in one WHERE is answered
            # by a sequential scan.
            matching = RawSQL(_MATCHING_SQL, [tsquery, phrase])  # noqa: S611 (bound parameters only)
            qs = (qs.annotate(rank=rank) if ranked else qs).filter(id__in=matching)
    return qs, ranked and rank is not None


def _ordered(qs, filters: ProductFilters, has_rank: bool):
    sort = filters.sort or ("relevance" if has_rank else "newest")
    if sort == "relevance":
        return qs.order_by("-rank", "name", "id") if has_rank else qs.order_by("-is_featured", "-created_at", "-id")
    return qs.order_by(*SORTS[sort])


def _facets(filters: ProductFilters) -> dict:
    # Within a category the facet counts its subcategories (so its cache entry depends on that category alone);
    # elsewhere it counts every category.
    base, _ = _filtered(ProductFilters(**{**asdict(filters), "sort": ""}), ranked=False)
    names = {c["id"]: c for c in category_tree()}
    by_category = base.values("category_id").annotate(n=Count("id")).order_by()
    categories = sorted(
        ({"slug": names[row["category_id"]]["slug"], "name": names[row["category_id"]]["name"], "count": row["n"]}
         for row in by_category if row["category_id"] in names),
        key=lambda f: (-f["count"], f["name"]),
    )
    priced, _ = _filtered(ProductFilters(**{**asdict(filters), "min_price": None, "max_price": None, "sort": ""}),
                          ranked=False)
    bounds = [*PRICE_BUCKETS, None]
    aggregates = {
        f"b{i}": Count("id", filter=Q(price_from__gte=lo) & (Q(price_from__lt=hi) if hi is not None else Q()))
        for i, (lo, hi) in enumerate(pairwise(bounds))
    }
    counts = priced.aggregate(**aggregates, in_stock=Count("id", filter=Q(in_stock=True)))
    ids_sql, ids_params = base.values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_ATTRIBUTE_FACETS_SQL.replace("{ids}", ids_sql), ids_params)
        rows = cursor.fetchall()
    attributes: dict[str, list[dict]] = {}
    for name, value, count in rows:
        attributes.setdefault(name, []).append({"value": value, "count": count})
    prices = [
        {"min": f"{lo:.2f}", "max": f"{hi:.2f}" if hi is not None else None, "count": counts[f"b{i}"]}
        for i, (lo, hi) in enumerate(pairwise(bounds))
    ]
    return {"categories": categories, "price": prices, "in_stock": counts["in_stock"],
            "attributes": [{"name": name, "values": values} for name, values in sorted(attributes.items())]}


_ATTRIBUTE_FACETS_SQL = f"""
    SELECT a.key, a.value, count(DISTINCT v.product_id)
    FROM {Variant._meta.db_table} v, jsonb_each_text(v.attributes) a
    WHERE v.product_id IN ({{ids}})
    GROUP BY a.key, a.value ORDER BY a.key, count(DISTINCT v.product_id) DESC, a.value
"""  # noqa: S608 (the table name is our model's; {ids} is the ORM's own SQL with bound parameters)


def product_list(*, filters: ProductFilters, page: int | str = 1, per_page: int | None = None) -> dict:
    """One page of product cards with the total, paging and facets; cached per filters and page."""
    per_page = per_page or settings.CATALOG_PAGE_SIZE
    if filters.category:
        category_get(slug=filters.category)  # unknown category: a clear 404, before any cache work
    fingerprint = hashlib.blake2b(
        json.dumps([asdict(filters), str(page), per_page], sort_keys=True, default=str).encode()
    , digest_size=16).hexdigest()
    key = f"list:{fingerprint}"

    def build():
        if settings.ELASTICSEARCH_URL and filters.q:
            return _es_listing(filters, page, per_page)
        qs, has_rank = _filtered(filters)
        qs = _ordered(qs, filters, has_rank).select_related("category").prefetch_related("images")
        paginator = Paginator(qs, per_page)
        try:
            current = paginator.page(page)
        except PageNotAnInteger:
            shown = str(page)[:20]
            raise InvalidPage(f"Page {shown!r} is not a page number.", extra={"page": shown}) from None
        except EmptyPage:
            raise InvalidPage(f"There is no page {page}; the last is {paginator.num_pages}.",
                              extra={"page": str(page), "num_pages": paginator.num_pages}) from None
        return {
            "count": paginator.count,
            "page": current.number,
            "num_pages": paginator.num_pages,
            "has_next": current.has_next(),
            "has_previous": current.has_previous(),
            "results": [_card(p) for p in current.object_list],
            "facets": _facets(filters),
        }

    return _cached(key, listing_scopes(filters.category), build)


def _es_listing(filters: ProductFilters, page, per_page: int) -> dict:
    """The same listing from Elasticsearch (search issue): ids, total and aggregations from the index, the cards
    from the database."""
    from .documents import search_execute

    try:
        number = int(page)
    except (TypeError, ValueError):
        raise InvalidPage(f"Page {str(page)[:20]!r} is not a page number.", extra={"page": str(page)[:20]}) from None
    if number < 1:
        raise InvalidPage(f"There is no page {number}.", extra={"page": str(number)})
    ids, total, aggs = search_execute(filters, page=number, per_page=per_page)
    num_pages = max(1, -(-total // per_page))
    if number > num_pages:
        raise InvalidPage(f"There is no page {number}; the last is {num_pages}.", extra={"page": str(number)})
    cards = {p.id: _card(p) for p in _visible().filter(id__in=ids).select_related("category")
             .prefetch_related("images")}
    names = {c["slug"]: c["name"] for c in category_tree()}
    attributes: dict[str, list[dict]] = {}
    for bucket in aggs.get("attributes", {}).get("buckets", []):
        name, _, value = bucket["key"].partition(":")
        attributes.setdefault(name, []).append({"value": value, "count": bucket["doc_count"]})
    return {
        "count": total, "page": number, "num_pages": num_pages,
        "has_next": number < num_pages, "has_previous": number > 1,
        "results": [cards[i] for i in ids if i in cards],
        "facets": {
            "categories": [{"slug": b["key"], "name": names.get(b["key"], b["key"]), "count": b["doc_count"]}
                           for b in aggs.get("categories", {}).get("buckets", [])],
            "price": [{"min": f"{b['from']:.2f}", "max": f"{b['to']:.2f}" if "to" in b else None,
                       "count": b["doc_count"]} for b in aggs.get("price", {}).get("buckets", [])],
            "in_stock": aggs.get("in_stock", {}).get("doc_count", 0),
            "attributes": [{"name": n, "values": v} for n, v in sorted(attributes.items())],
        },
    }


def product_home() -> dict:
    """The home page's shelves: featured and newest products."""

    def build():
        base = _visible().select_related("category").prefetch_related("images")
        featured = [_card(p) for p in base.filter(is_featured=True).order_by("-in_stock", "-created_at")[:8]]
        newest = [_card(p) for p in base.order_by("-created_at", "-id")[:8]]
        return {"featured": featured, "newest": newest}

    return _cached("home", listing_scopes(), build)


# ---------------------------------------------------------------- one product
def _availability_text(available: int) -> str:
    if available <= 0:
        return "Sold out"
    if available <= settings.LOW_STOCK_THRESHOLD:
        return f"Only {available} left"
    return "In stock"


def product_detail(*, slug: str) -> dict:
    """Everything the product page and API show, availability included (its entry is dropped on stock changes)."""

    def build():
        try:
            product = (
                Product.objects.select_related("category")
                .prefetch_related("images", "variants")
                .get(slug=slug, is_active=True)
            )
        except Product.DoesNotExist:
            return {"missing": True}
        variants = list(product.variants.all())
        available = inventory_services.stock_availability(skus=[v.sku for v in variants])
        options: dict[str, list[str]] = {}
        for v in variants:
            for name, value in (v.attributes or {}).items():
                if str(value) not in options.setdefault(name, []):
                    options[name].append(str(value))
        return {
            "slug": product.slug,
            "name": product.name,
            "description": product.description,
            "category": {"slug": product.category.slug, "name": product.category.name},
            "images": [{"url": i.image.url, "alt": i.alt_text or product.name} for i in product.images.all()],
            "variants": [
                {"sku": v.sku, "name": v.name, "attributes": v.attributes or {}, "price": f"{v.price:.2f}",
                 "currency": v.currency, "available": max(available.get(v.sku, 0), 0),
                 "availability": _availability_text(available.get(v.sku, 0))}
                for v in variants
            ],
            "options": options,
            "price_from": f"{product.price_from:.2f}" if product.price_from is not None else None,
            "currency": settings.STORE_CURRENCY,
            "in_stock": any(a > 0 for a in available.values()),
            "first_available_sku": next((v.sku for v in variants if available.get(v.sku, 0) > 0), None),
            "url": product.get_absolute_url(),
        }

    detail = _cached(f"product:{slug}", product_scopes(slug), build)
    if detail.get("missing") or not detail.get("variants"):
        raise ProductNotFound(slug)
    return detail


def product_suggestions(*, prefix: str, limit: int = 8) -> list[dict]:
    """Product names for the search box as the shopper types (prefix and typo tolerant), cached per prefix."""
    words = search_words(prefix)
    if not words or len(" ".join(words)) < 2:
        return []

    def build():
        qs, _ = _filtered(ProductFilters(q=" ".join(words)))
        return {"items": [{"name": name, "url": f"/p/{slug}/"}
                          for name, slug in qs.order_by("-rank", "name").values_list("name", "slug")[:limit]]}

    return _cached(f"suggest:{'+'.join(words)}", (ALL,), build)["items"]
