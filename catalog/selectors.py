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
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connections, router, transaction
from django.db.models import Count, Max, OuterRef, Subquery

from inventory import services as inventory_services
from store.core.cache import versioned, versioned_many

from .models import Category, Product, ProductImage, SearchWord
from .types import InvalidPage, ProductFilters, ProductNotFound, UnknownCategory

SORTS = {  # the sorts a shopper may ask for, and their ORDER BY over the listing's matches (_Search)
    "relevance": "rank DESC, name, id",
    "price": "price_from, id",
    "-price": "price_from DESC, id DESC",
    "name": "name, id",
    "newest": "created_at DESC, id DESC",
    "rating": "rating_average DESC NULLS LAST, rating_count DESC, id",
}
FEATURED_ORDER = "is_featured DESC, created_at DESC, id DESC"  # "relevance" where there are no words to rank by
_ORDER_COLUMNS = {  # what each order reads beyond the id (which every row carries)
    SORTS["relevance"]: ", {rank} AS rank, p.name",
    SORTS["price"]: "",
    SORTS["-price"]: "",
    SORTS["name"]: ", p.name",
    SORTS["newest"]: ", p.created_at",
    SORTS["rating"]: ", p.rating_average, p.rating_count",
    FEATURED_ORDER: ", p.is_featured, p.created_at",
}
assert set(_ORDER_COLUMNS) == {*SORTS.values(), FEATURED_ORDER}, "every order says which columns it reads"
LISTING_WORK_MEM = "16MB"  # for a listing's statement (_Search._query); each of its sorts and hashes may use this much
PRICE_BUCKETS = [Decimal(b) for b in ("0", "25", "50", "100", "200", "500")]
ALL = "all"  # every listing and the home page depend on it
CATEGORIES = "categories"  # category names and the tree, shown on every product page


def _reading():
    """The connection the catalogue's raw SQL reads on: a replica's, for a browsing request (store/core/replicas.py,
    the database router); the primary's otherwise."""
    return connections[router.db_for_read(Product)]


WORD = re.compile(r"[^\W_]+", re.UNICODE)


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
def _page_number(page) -> int:
    try:
        number = int(str(page).strip())
    except ValueError:
        shown = str(page)[:20]
        raise InvalidPage(f"Page {shown!r} is not a page number.", extra={"page": shown}) from None
    if number < 1:
        raise InvalidPage(f"There is no page {number}; pages start at 1.", extra={"page": str(page)[:20]})
    return number


_IMAGE_STORAGE = ProductImage._meta.get_field("image").storage


def _carded(products):
    """Products ready for _card in one statement: the dearest variant's price, the category, and the first
    picture's file and alt text as subqueries (a prefetch of the images was a second round trip per listing)."""
    first = ProductImage.objects.filter(product=OuterRef("pk")).order_by("position", "id")
    # (the search document and description, most of a row, are no part of a card)
    return _priced(products.defer("description", "search_document", "attribute_values")).select_related(
        "category").annotate(
        first_image=Subquery(first.values("image")[:1]), first_image_alt=Subquery(first.values("alt_text")[:1]))


def _card(product: Product) -> dict:
    image = product.first_image
    return {
        "slug": product.slug,
        "name": product.name,
        "price": f"{product.price_from:.2f}",
        # every variant at the one price: the card says "$40", not "from $40" (price_to: the _priced() annotation)
        "single_price": getattr(product, "price_to", None) == product.price_from,
        "currency": settings.STORE_CURRENCY,
        "in_stock": product.in_stock,
        "image_url": _IMAGE_STORAGE.url(image) if image else None,
        "image_alt": (product.first_image_alt or product.name) if image else product.name,
        "url": product.get_absolute_url(),
        "category": product.category.slug,
        "rating": _rating(product.rating_average, product.rating_count),
    }


def product_cards(*, slugs) -> dict[str, dict]:
    """The cards of these products that shoppers may see (active, priced), by slug, in one Redis round trip: each
    is kept under its product page's scope, so a change to the product or its stock crossing zero (which bump that
    scope) shows at once. The recommendations ask for these."""
    entries = {f"catalog:card:{slug}": (CATEGORIES, f"p:{slug}") for slug in dict.fromkeys(slugs)}

    def build(keys: list[str]) -> dict[str, dict]:
        wanted = [key.removeprefix("catalog:card:") for key in keys]
        products = _carded(_visible().filter(slug__in=wanted))
        return {f"catalog:card:{p.slug}": _card(p) for p in products}

    found = versioned_many(entries, build, timeout=settings.CATALOG_CACHE_SECONDS, near=True)
    return {card["slug"]: card for card in found.values()}


def product_features() -> list[dict]:
    """What a product says about itself, for every visible product: its category (and the one above), name,
    description, attribute values and SKUs. The recommendations learn "similar items" from it; not cached (a nightly
    read)."""
    rows = _visible().annotate(skus=ArrayAgg("variants__sku", order_by="variants__position")).values_list(
        "slug", "name", "description", "category__slug", "category__parent__slug", "attribute_values", "skus",
    ).order_by("id")
    return [{"slug": slug, "name": name, "description": description, "category": category,
             "parent_category": parent or "", "attributes": list(attributes or ()), "skus": list(skus or ())}
            for slug, name, description, category, parent, attributes, skus in rows]


def _rating(average, count: int) -> dict:
    return {"average": f"{average:.2f}" if average is not None else None, "count": count}


def _visible():
    return Product.objects.filter(is_active=True, price_from__isnull=False)


def _priced(products):
    """Products with their dearest variant's price (``price_to``), for the cards' "from"."""
    return products.annotate(price_to=Max("variants__price"))


class _Search:
    """One listing or search in one statement (the PostgreSQL backend): the matching products are gathered once
    (the GIN index for the words, the other filters beside it) into a materialized CTE, and the count, the page's
    ids in the chosen order and every facet are read from that set. So a common word matching thousands of
    products costs one index scan, not one per count, page and facet, and no relevance score is computed twice.

    Each word matches as a prefix of the words as written (so "recy" finds Recycled, "can" Canvas, "down" Down) or
    by its English stem (so "boots" finds Boot, "carry" carries in a description). An English prefix as well
    cost up to 10 ms a word instead of 4 ("jacket", "boot" at 20,000 products) for nothing a shopper
    types. Typos: when the words as typed find almost nothing, each word also matches its closest words of the
    shop's lexicon (SearchWord, by trigram similarity), and the search runs once more."""

    TYPO_RETRY_BELOW = 3  # matches, below which the words are corrected
    CORRECTIONS = 3  # alternatives per word, at most...
    CORRECTION_SPREAD = 0.15  # ...and only those about as close as the closest

    def __init__(self, filters: ProductFilters):
        self.filters = filters
        self.words = search_words(filters.q) if filters.q else []

    def run(self, *, offset: int, limit: int, facets: bool = True) -> dict:
        """The listing's ids, total and facets; ``corrected``: the words shown as searched for when a correction
        was used (the page says so and offers the words as typed), else None."""
        typed = [[("simple", f"{w}:*"), ("english", w)] for w in self.words]
        found = {**self._query(typed, offset=offset, limit=limit, facets=facets), "corrected": None}
        if self.words and not self.filters.exact and found["total"] < self.TYPO_RETRY_BELOW:
            corrected, shown = self._corrected(typed)
            if corrected != typed:
                retry = self._query(corrected, offset=offset, limit=limit, facets=facets)
                if retry["total"] > found["total"]:  # a correction is used only when it finds more
                    found = {**retry, "corrected": shown}
        return found

    def _corrected(self, typed: list[list[tuple[str, str]]]) -> tuple[list[list[tuple[str, str]]], str]:
        """Each word with its closest words of the lexicon that are close in spelling too (one edit, two from
        eight letters: "snekers" is sneakers, "sweater" is not shelter), and the words as the page shows them."""
        with _reading().cursor() as cursor:
            cursor.execute(_CORRECTIONS_SQL, [self.words, self.CORRECTIONS])
            alternatives: dict[str, list[str]] = {}
            best: dict[str, float] = {}
            for word, correction, score in cursor.fetchall():  # best first
                candidate = (search_words(correction) or [""])[0]
                if not candidate or candidate == word or _edits(word, candidate) > (1 if len(word) < 8 else 2):
                    continue
                best.setdefault(word, score)
                if score >= best[word] - self.CORRECTION_SPREAD:  # "runner" for runer, not also "rust"
                    alternatives.setdefault(word, []).append(candidate)
        groups = [[*terms, *(("english", c) for c in alternatives.get(word, []))]
                  for word, terms in zip(self.words, typed, strict=True)]
        return groups, " ".join(alternatives.get(word, [word])[0] for word in self.words)

    def _query(self, groups: list[list[tuple[str, str]]], *, offset: int, limit: int, facets: bool) -> dict:
        """``groups``: every word's group must match, a group by any of its (text search configuration, term)."""
        f = self.filters
        rank, sources, where, in_range = "0", "", ["p.is_active", "p.price_from IS NOT NULL"], ["true"]
        rank_params, source_params, where_params, range_params = [], [], [], []
        if groups:
            # Relevance: the weighted text rank (name A, categories and attributes B, description C), and the
            # exact name on top. Ranked by the query without each word's own English stem: ts_rank drops a term
            # that repeats another's lexeme ('sne' beside 'sne':*), and the rank of the OR came out 0.
            # Only when the page is in that order: under another sort (rating, price) the rank of every match,
            # read from its whole search document, would be computed for nothing.
            if (f.sort or "relevance") == "relevance":
                rank = "ts_rank(p.search_document, r) + (lower(p.name) = %s)::int"
                rank_params.append(" ".join(self.words))
            ranked = [[t for t in terms if t != ("english", word)] for word, terms in zip(self.words, groups,
                                                                                          strict=True)]

            def tsquery(of: list[list[tuple[str, str]]]) -> str:
                return " && ".join("(" + " || ".join(f"to_tsquery('{config}', %s)" for config, _ in terms) + ")"
                                   for terms in of)

            # A stop word's English query is empty, and || of an empty query is the other side: "down" is found
            # through its 'simple' spelling. The configurations are our constants; the terms bound parameters.
            sources = f", (SELECT {tsquery(groups)}, {tsquery(ranked)}) AS query(q, r)"
            source_params.extend(term for of in (groups, ranked) for terms in of for _, term in terms)
            where.append("p.search_document @@ q")
        if f.category:
            where.append("p.category_id = ANY(%s)")
            where_params.append(category_descendant_ids(slug=f.category))
        if f.in_stock:
            where.append("p.in_stock")
        if f.min_rating is not None:
            where.append("p.rating_average >= %s")
            where_params.append(f.min_rating)
        for name, value in sorted(f.attributes.items()):  # names checked by services.product_filters_parse
            where.append("p.attribute_values @> ARRAY[%s]::varchar[]")
            where_params.append(f"{name}={value}")
        # The price filter: the count, the page and the facets obey it, the in-stock count too (ticking it keeps
        # the range, so its count is what it would show); the price facet does not (so a shopper sees what the
        # other price ranges hold).
        if f.min_price is not None:
            in_range.append("p.price_from >= %s")
            range_params.append(f.min_price)
        if f.max_price is not None:
            in_range.append("p.price_from <= %s")
            range_params.append(f.max_price)
        sort = f.sort or "relevance"
        order = FEATURED_ORDER if sort == "relevance" and not groups else SORTS[sort]
        sql = _SEARCH_SQL.format(order_columns=_ORDER_COLUMNS[order].format(rank=rank),
                                 in_range=" AND ".join(in_range), sources=sources, where=" AND ".join(where),
                                 counts=_COUNTS_SQL if facets else "",
                                 facets=_FACETS_SQL if facets else _NO_FACETS_SQL, order=order)
        reading = _reading()
        # The matches are held once for the count, the facets and the page: at PostgreSQL's default work_mem (4 MB)
        # a word matching a quarter of 100,000 products spilled them to a temporary file. This statement alone gets
        # LISTING_WORK_MEM, for its own transaction; every other query keeps the server's setting.
        with transaction.atomic(using=reading.alias), reading.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [LISTING_WORK_MEM])
            cursor.execute(sql, [*rank_params, *range_params, *source_params, *where_params, limit, offset])
            total, by_category, prices, in_stock, attributes, ids = cursor.fetchone()
        return {"total": total, "ids": ids or [],
                "facets": _facets_of(by_category, prices, in_stock, attributes) if facets else None}


def _edits(a: str, b: str) -> int:
    """The optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours, one
    each ("cavnas" is one from canvas). Words are at most 40 letters, so the table stays small."""
    before, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        before, row = row, current
    return row[-1]


_PRICE_BUCKETS_SQL = ", ".join(
    f"count(*) FILTER (WHERE price_from >= {lo}" + (f" AND price_from < {hi})" if hi is not None else ")")
    for lo, hi in pairwise([*PRICE_BUCKETS, None])
)  # the bounds are our own Decimal constants
_SEARCH_SQL = f"""
    WITH m AS MATERIALIZED (
        SELECT p.id, p.category_id, p.price_from, p.in_stock,
               coalesce(p.listing_attributes, (SELECT a.attribute_values FROM {Product._meta.db_table} a
                                               WHERE a.id = p.id)) AS attribute_values{{order_columns}},
               ({{in_range}}) AS in_range
        FROM {Product._meta.db_table} p{{sources}}
        WHERE {{where}}
    ), counted AS (
        SELECT count(*) FILTER (WHERE in_range) AS total{{counts}} FROM m
    )
    SELECT counted.total,
           {{facets}}
           (SELECT array_agg(id) FROM (SELECT id FROM m WHERE in_range ORDER BY {{order}} LIMIT %s OFFSET %s) page)
    FROM counted
"""  # noqa: S608 (table names from our models; every value a bound parameter; the rest our own constants)
# The matches are gathered once with only the columns the count, the facets and the chosen order read (a
# department's 20,000 rows, from the listing index alone: a product's attribute values come from its row only
# where they are too long for that index), and the count, the in-stock count and the price buckets are read in
# one pass over them.
_COUNTS_SQL = (", count(*) FILTER (WHERE in_stock AND in_range) AS in_stock, "
               f"json_build_array({_PRICE_BUCKETS_SQL}) AS prices")
_FACETS_SQL = """
           (SELECT json_agg(json_build_array(category_id, n)) FROM (
                SELECT category_id, count(*) AS n FROM m WHERE in_range GROUP BY category_id) c),
           counted.prices,
           counted.in_stock,
           (SELECT json_agg(json_build_array(a, n)) FROM (
                SELECT a, sum(n)::bigint AS n FROM (
                    SELECT attribute_values, count(*) AS n FROM m WHERE in_range GROUP BY attribute_values) g,
                unnest(g.attribute_values) a GROUP BY a) v),
"""
# The attribute facet counts the matches' distinct attribute sets first and unnests only those: a department's
# thousands of products share a few hundred sets (colour x size), so it hashes a few thousand values instead of
# every product's six or seven (at 20,000 products, a department's facet 50-58 ms -> 21-27 ms in EXPLAIN ANALYZE).
_NO_FACETS_SQL = "NULL, NULL, NULL, NULL,"
_CORRECTIONS_SQL = f"""
    SELECT w.input, s.word, s.score FROM unnest(%s::text[]) AS w(input)
    CROSS JOIN LATERAL (
        SELECT word, similarity(word, w.input) AS score FROM {SearchWord._meta.db_table}
        WHERE word %% w.input ORDER BY score DESC, word LIMIT %s) s
    WHERE NOT EXISTS (  -- a word that begins a word of the shop is no typo: leave it be
        SELECT 1 FROM {SearchWord._meta.db_table} known WHERE known.word LIKE w.input || '%%')
"""  # noqa: S608 (the table name is our model's; the words are bound parameters)


_GARMENT_SIZES = {size: n for n, size in enumerate(["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL"])}


def natural_key(value: str) -> tuple:
    """How a shopper reads a list of values: garment sizes small to large (XS, S, M, L, XL), numbers by value
    (7, 8, 9.5, 10, 12, not 10, 12, 7), then words alphabetically."""
    text = str(value).strip()
    if text.upper() in _GARMENT_SIZES:
        return (0, _GARMENT_SIZES[text.upper()], ())
    parts = re.split(r"(\d+(?:\.\d+)?)", text.lower())
    return (1 if parts[0] == "" else 2, 0, tuple((0, float(p), "") if i % 2 else (1, 0.0, p)
                                                 for i, p in enumerate(parts) if p))


def _facets_of(by_category, prices, in_stock, attributes) -> dict:
    names = {c["id"]: c for c in category_tree()}
    categories = sorted(
        ({"slug": names[cid]["slug"], "name": names[cid]["name"], "count": n}
         for cid, n in (by_category or []) if cid in names),
        key=lambda f: (-f["count"], f["name"]),
    )
    bounds = [*PRICE_BUCKETS, None]
    price = [{"min": f"{lo:.2f}", "max": f"{hi:.2f}" if hi is not None else None, "count": count}
             for (lo, hi), count in zip(pairwise(bounds), prices or [0] * (len(bounds) - 1), strict=True)]
    values: dict[str, list[dict]] = {}
    for pair, n in attributes or []:
        name, _, value = pair.partition("=")
        values.setdefault(name, []).append({"value": value, "count": n})
    return {"categories": categories, "price": price, "in_stock": in_stock or 0,
            "attributes": [{"name": name, "values": sorted(vals, key=lambda v: natural_key(v["value"]))}
                           for name, vals in sorted(values.items())]}


def _listing_fingerprint(filters: ProductFilters, number: int, per_page: int) -> str:
    """The listing's cache key: what it shows, in canonical form (the words searched for as the search reads them,
    one name for the default sort, prices to the cent), so addresses that differ only in spelling share an entry."""
    words = filters.q if settings.ELASTICSEARCH_URL else " ".join(search_words(filters.q))
    canonical = {**asdict(filters), "q": words, "sort": filters.sort or "relevance",
                 "min_rating": None if filters.min_rating is None else f"{filters.min_rating:f}",
                 **{name: None if value is None else f"{value + 0:.2f}"  # + 0: -0.00 is 0.00
                    for name, value in (("min_price", filters.min_price), ("max_price", filters.max_price))}}
    return hashlib.blake2b(json.dumps([canonical, number, per_page], sort_keys=True).encode(),
                           digest_size=16).hexdigest()


def product_list(*, filters: ProductFilters, page: int | str = 1, per_page: int | None = None) -> dict:
    """One page of product cards with the total, paging and facets; cached per filters and page."""
    per_page = per_page or settings.CATALOG_PAGE_SIZE
    if filters.category:
        category_get(slug=filters.category)  # unknown category: a clear 404, before any cache work
    number = _page_number(page)  # likewise a page that is no number
    key = f"list:{_listing_fingerprint(filters, number, per_page)}"

    def build():
        if settings.ELASTICSEARCH_URL and filters.q:
            return _es_listing(filters, number, per_page)
        # (an absurd page number stays a valid OFFSET: it finds nothing, and the check below says which is the last)
        found = _Search(filters).run(offset=min((number - 1) * per_page, 2**62), limit=per_page)
        num_pages = max(1, -(-found["total"] // per_page))
        if number > num_pages:
            raise InvalidPage(f"There is no page {number}; the last is {num_pages}.",
                              extra={"page": str(number), "num_pages": num_pages})
        products = {p.id: p for p in _carded(Product.objects.filter(id__in=found["ids"]))}
        return {
            "count": found["total"],
            "page": number,
            "num_pages": num_pages,
            "has_next": number < num_pages,
            "has_previous": number > 1,
            "results": [_card(products[i]) for i in found["ids"] if i in products],
            "facets": found["facets"],
            "corrected": found["corrected"],
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
    cards = {p.id: _card(p) for p in _carded(_visible().filter(id__in=ids))}
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
            "attributes": [{"name": n, "values": sorted(v, key=lambda x: natural_key(x["value"]))}
                           for n, v in sorted(attributes.items())],
        },
    }


def product_home() -> dict:
    """The home page's shelves: featured and newest products."""

    def build():
        base = _carded(_visible())
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
            "rating": _rating(product.rating_average, product.rating_count),
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
        ids = _Search(ProductFilters(q=" ".join(words))).run(offset=0, limit=limit, facets=False)["ids"]
        found = dict(Product.objects.filter(id__in=ids).values_list("id", "slug"))
        names = dict(Product.objects.filter(id__in=ids).values_list("id", "name"))
        return {"items": [{"name": names[i], "url": f"/p/{found[i]}/"} for i in ids if i in found]}

    return _cached(f"suggest:{'+'.join(words)}", (ALL,), build)["items"]
