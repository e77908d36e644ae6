"""Recommendations' use cases: learn from an order (incrementally, from the outbox's order events), rebuild
everything from what was learned (nightly, Celery beat), evaluate offline, and serve lists filtered to what a
shopper can buy now.

Where the data comes from: only events. An ``order.paid`` / ``order.refunded`` / ``payment.refunded`` event names
an order; its lines are read back through orders' services and counted as a basket of products (the units not
given back, while the order is paid). The catalogue is asked only through its services: which product a SKU is,
product cards, and the catalogue's own words for "similar items". Nothing here reads another app's tables, and
nothing below imports this app: the pages show it through its template tags.

Exactness: learning an order moves the counts from the basket stored for it (Purchase) to its basket now, under
the learning lock; a product's co-purchase list is read from its own pair counts when served (an index range,
ranked as learning.bought_list ranks it), so there is no list to fall behind and the counts equal a rebuild's
(tests/recommendations/test_services.py). The popularity lists follow every minute (popular_refresh)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import timedelta

from django.core.cache import caches
from django.db import connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection

from catalog import services as catalog_services
from catalog.types import ProductNotFound
from orders import services as order_services
from orders.types import OrderNotFound

from . import learning, selectors
from .models import CoViewCount, PairCount, ProductCount, Purchase, RecommendationList, VisitorViews
from .types import KINDS, MAX_LIMIT, InvalidRecommendationQuery, RebuildReport, Recommended

logger = logging.getLogger(__name__)
COUNTED_STATUSES = {"paid", "fulfilled", "partially_refunded"}  # the goods are with the shopper, paid for
ALL = "*"
LEARNING_LOCK = 0x7265637301  # the advisory lock learning and rebuilding take


def _bought(slug: str) -> str:
    return f"bought:{slug}"


def _similar(slug: str) -> str:
    return f"similar:{slug}"


def _popular(category: str) -> str:
    return f"popular:{category}"


def _viewed(slug: str) -> str:
    return f"viewed:{slug}"


# ---------------------------------------------------------------- learning, one order at a time
def order_learn(*, number: str) -> bool:
    """Count the order named by an event as it stands now: its products not given back while it is paid, none
    once it is refunded in full or cancelled. Idempotent (at-least-once events). True if anything changed."""
    try:
        order = order_services.order_returnable(number=number, is_staff=True)
    except OrderNotFound:
        return False
    kept = [line.sku for line in order.lines if line.quantity - line.returned > 0]
    products: dict[str, str] = {}
    if order.status in COUNTED_STATUSES and kept:
        for info in catalog_services.variant_prices(skus=kept).values():
            products[info.product_slug] = info.category_slugs[0] if info.category_slugs else ""
    return purchase_record(order_number=number, products=products, paid_at=order.paid_at or timezone.now())


def purchase_record(*, order_number: str, products: Mapping[str, str], paid_at) -> bool:
    """The order now holds ``products`` (slug -> category): move the counts from what it held before, and
    recompute the lists this changes. True if anything changed."""
    after = set(products)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One learner at a time (a few ms each): counts move in a single order, and never deadlock.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEARNING_LOCK])
        # The usual case, an order not learned before: its row and its counts in one statement.
        if _count(set(), after, products, new_order=(order_number, paid_at)):
            if not after:
                return False
            _refresh(after)
            return True
        row = Purchase.objects.select_for_update().get(order_number=order_number)
        before = set(row.products)
        if before == after:
            return False
        Purchase.objects.filter(pk=row.pk).update(products=sorted(after), updated_at=timezone.now())
        categories = dict(products)
        if before - after:
            categories.update(dict(ProductCount.objects.filter(product_slug__in=before - after)
                                   .values_list("product_slug", "category_slug")))
        _count(before, after, categories)
        _refresh(before | after)
    return True


def _count(before: set[str], after: set[str], categories: Mapping[str, str], *,
           new_order: tuple[str, object] | None = None) -> bool:
    """Apply the difference, products then pairs, each in slug order (concurrent orders lock rows in one order).
    The additions go in one statement (a data-modifying WITH per table). With ``new_order`` (its number and
    paid_at), the order's row is inserted in that statement too and the counts only if it was new: False, and
    nothing written, if the order was learned before."""
    product_delta = {slug: (slug in after) - (slug in before) for slug in before | after}
    product_delta = {slug: d for slug, d in sorted(product_delta.items()) if d}
    pair_delta: dict[tuple[str, str], int] = defaultdict(int)
    for basket, sign in ((before, -1), (after, 1)):
        for a in basket:
            for b in basket:
                if a != b:
                    pair_delta[(a, b)] += sign
    pair_delta = {pair: d for pair, d in sorted(pair_delta.items()) if d}
    products, pairs = ProductCount._meta.db_table, PairCount._meta.db_table
    # Additions insert or add; removals only subtract (PostgreSQL checks a row's constraints before it looks for
    # a conflict, so a negative count cannot go through INSERT … ON CONFLICT). A count that reaches 0 is deleted.
    added = {slug: d for slug, d in product_delta.items() if d > 0}
    removed = {slug: d for slug, d in product_delta.items() if d < 0}
    pairs_added = {pair: d for pair, d in pair_delta.items() if d > 0}
    pairs_removed = {pair: d for pair, d in pair_delta.items() if d < 0}
    writes: list[tuple[str, list]] = []
    only_if_new = ""
    if new_order is not None:
        writes.append((f"""
            INSERT INTO {Purchase._meta.db_table} (order_number, products, paid_at, updated_at)
            VALUES (%s, %s::varchar[], %s, now()) ON CONFLICT (order_number) DO NOTHING RETURNING 1
        """, [new_order[0], sorted(after), new_order[1]]))  # noqa: S608
        only_if_new = "WHERE EXISTS (SELECT 1 FROM w0)"
    if added:
        writes.append((f"""
            INSERT INTO {products} (product_slug, category_slug, orders)
            SELECT * FROM unnest(%s::text[], %s::text[], %s::int[]) {only_if_new}
            ON CONFLICT (product_slug) DO UPDATE SET orders = {products}.orders + EXCLUDED.orders,
                                                     category_slug = EXCLUDED.category_slug
        """, [list(added), [categories.get(s, "") for s in added], list(added.values())]))  # noqa: S608
    if pairs_added:
        writes.append((f"""
            INSERT INTO {pairs} (product_slug, other_slug, orders)
            SELECT * FROM unnest(%s::text[], %s::text[], %s::int[]) {only_if_new}
            ON CONFLICT (product_slug, other_slug) DO UPDATE SET orders = {pairs}.orders + EXCLUDED.orders
        """, [[a for a, _ in pairs_added], [b for _, b in pairs_added], list(pairs_added.values())]))  # noqa: S608
    with connection.cursor() as cursor:
        if writes:  # every data-modifying WITH runs, read or not; the SELECT says whether the order was new
            tail = "SELECT count(*) FROM w0" if new_order is not None else "SELECT 1"
            ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(writes))
            statement = f"WITH {ctes} {tail}"
            cursor.execute(statement, [p for _, params in writes for p in params])
            if new_order is not None and not cursor.fetchone()[0]:
                return False
        if removed:
            cursor.execute(f"""
                UPDATE {products} SET orders = orders + d.delta
                FROM unnest(%s::text[], %s::int[]) AS d(slug, delta) WHERE product_slug = d.slug
            """, [list(removed), list(removed.values())])  # noqa: S608
            cursor.execute(f"DELETE FROM {products} WHERE product_slug = ANY(%s) AND orders = 0",  # noqa: S608
                           [list(removed)])
        if pairs_removed:
            cursor.execute(f"""
                UPDATE {pairs} SET orders = orders + d.delta
                FROM unnest(%s::text[], %s::text[], %s::int[]) AS d(a, b, delta)
                WHERE product_slug = d.a AND other_slug = d.b
            """, [[a for a, _ in pairs_removed], [b for _, b in pairs_removed],  # noqa: S608
                  list(pairs_removed.values())])
            cursor.execute(f"DELETE FROM {pairs} WHERE product_slug = ANY(%s) AND orders = 0",  # noqa: S608
                           [sorted({a for a, _ in pairs_removed})])
    return True


# The most bought products of each category, best first, LIST_SIZE each
_POPULAR_SQL = f"""
    SELECT category_slug, product_slug, orders FROM (
        SELECT category_slug, product_slug, orders,
               row_number() OVER (PARTITION BY category_slug ORDER BY orders DESC, product_slug) AS place
        FROM {ProductCount._meta.db_table} WHERE orders > 0) ranked
    WHERE place <= %s
"""  # noqa: S608 (table names from our models; every value is a bound parameter)


def _refresh(slugs: set[str]) -> None:
    """The co-purchase lists of ``slugs`` changed with their counts (they are read from the counts when served):
    their pages are rebuilt after commit."""
    catalog_services.product_pages_changed(slugs=sorted(slugs))


def popular_refresh() -> int:
    """The popularity lists (per category and shop-wide) from the counts as they are now: every minute (beat) and
    in every rebuild, rather than with every order, since they only pad lists and move slowly. Returns how many
    changed. Pages padded with them follow when their entries expire."""
    by_category: dict[str, list[tuple[str, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(_POPULAR_SQL, [learning.LIST_SIZE])
        for category, slug, orders in cursor.fetchall():
            by_category[category].append((slug, orders))
    wanted = {_popular(c): learning.popular_list(found) for c, found in by_category.items() if c}
    wanted[_popular(ALL)] = learning.popular_list(
        ProductCount.objects.filter(orders__gt=0).order_by("-orders", "product_slug")
        .values_list("product_slug", "orders")[:learning.LIST_SIZE])
    wanted.update({key: [] for key in RecommendationList.objects.filter(key__startswith="popular:")
                  .exclude(key__in=list(wanted)).values_list("key", flat=True)})
    return len(_store(wanted, pages=False))


def _store(wanted: Mapping[str, list[list]], *, replace_all: bool = False, pages: bool = True):
    """Write the lists that differ from those stored (an empty one is deleted); with ``replace_all``, every stored
    list not in ``wanted`` is deleted too. With ``pages``, the product pages whose lists changed are rebuilt after
    commit, and their number returned; without, the keys that changed are."""
    stored = selectors.lists(wanted) if not replace_all else dict(
        RecommendationList.objects.values_list("key", "items"))
    changed = {key for key, items in wanted.items() if stored.get(key, []) != items}
    if replace_all:
        changed |= set(stored) - set(wanted)
    gone = [key for key in changed if not wanted.get(key)]
    RecommendationList.objects.filter(key__in=gone).delete()
    now = timezone.now()
    RecommendationList.objects.bulk_create(
        [RecommendationList(key=key, items=wanted[key], updated_at=now) for key in sorted(changed) if wanted.get(key)],
        update_conflicts=True, unique_fields=["key"], update_fields=["items", "updated_at"], batch_size=2000)
    if not pages:
        return changed
    slugs = {key.split(":", 1)[1] for key in changed if not key.startswith("popular:")}
    catalog_services.product_pages_changed(slugs=sorted(slugs))
    return len(slugs)


# ---------------------------------------------------------------- rebuilding everything
def recommendations_rebuild() -> RebuildReport:
    """Every count and list from the stored purchases and the catalogue as it is now (Celery beat, nightly; and
    ``manage.py recommendations rebuild``). Orders learned meanwhile wait for it (the learning lock)."""
    started = time.perf_counter()
    catalogue = catalog_services.product_features()
    category_of = {p["slug"]: p["category"] for p in catalogue}
    similar = learning.similar_lists(catalogue)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEARNING_LOCK])
        baskets = list(Purchase.objects.exclude(products=[]).values_list("products", flat=True).iterator(5000))
        products, pairs = learning.basket_counts(baskets)
        # a product gone from the catalogue keeps the category it was counted under
        known = dict(ProductCount.objects.values_list("product_slug", "category_slug"))
        categories = {slug: category_of.get(slug) or known.get(slug, "") for slug in products}
        before = learning.bought_lists(
            dict(ProductCount.objects.values_list("product_slug", "orders")),
            {(a, b): n for a, b, n in PairCount.objects.values_list("product_slug", "other_slug", "orders")})
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {PairCount._meta.db_table}, {ProductCount._meta.db_table}")
        ProductCount.objects.bulk_create(
            [ProductCount(product_slug=s, category_slug=categories[s], orders=n) for s, n in products.items()],
            batch_size=5000)
        PairCount.objects.bulk_create(
            [PairCount(product_slug=a, other_slug=b, orders=n) for (a, b), n in pairs.items()], batch_size=5000)
        after = learning.bought_lists(products, pairs)
        wanted = {_popular(c): items for c, items in learning.popular_lists(products, categories).items()}
        wanted.update({_similar(slug): items for slug, items in similar.items()})
        wanted.update({_viewed(slug): items for slug, items in _coview_lists(None).items()})
        pages = _store(wanted, replace_all=True, pages=False)
        changed = {slug for slug in before.keys() | after.keys() if before.get(slug) != after.get(slug)}
        changed |= {key.split(":", 1)[1] for key in pages if not key.startswith("popular:")}
        catalog_services.product_pages_changed(slugs=sorted(changed))
    return RebuildReport(purchases=len(baskets), products=len(products), pairs=len(pairs) // 2,
                         lists=len(wanted) + len(after), changed_pages=len(changed),
                         seconds=time.perf_counter() - started)


def recommendations_evaluate(*, holdout: float = 0.1, k: int = 10) -> list[learning.Measure]:
    """Train on the oldest (1 - holdout) of the counted orders, test on the most recent ``holdout``."""
    baskets = list(Purchase.objects.exclude(products=[]).order_by("paid_at", "id").values_list("products", flat=True))
    split = len(baskets) - max(1, round(len(baskets) * holdout)) if baskets else 0
    return learning.evaluate(baskets[:split], baskets[split:], catalog_services.product_features(), k=k)


# ---------------------------------------------------------------- serving
def recommendations_parse(params: Mapping) -> tuple[str, int]:
    """``kind`` (bought_together, the default, or similar) and ``limit`` (1-50, default 10) from a query."""
    kind = params.get("kind") or "bought_together"
    if kind not in KINDS:
        raise InvalidRecommendationQuery(f"kind must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}.",
                                         extra={"field": "kind"})
    raw = params.get("limit")
    if raw is None or raw == "":
        return kind, 10
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 3 and 1 <= int(text) <= MAX_LIMIT):
        raise InvalidRecommendationQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}.",
                                         extra={"field": "limit"})
    return kind, int(text)


def _served(candidates: Iterable[tuple[str, str]], *, exclude: Iterable[str], limit: int) -> list[Recommended]:
    """(slug, reason) candidates, best first, as cards of active, in-stock products not excluded."""
    excluded = set(exclude)
    reasons: dict[str, str] = {}  # each product once, with the reason of its best place
    for slug, reason in candidates:
        if slug not in excluded:
            reasons.setdefault(slug, reason)
    cards = catalog_services.product_cards(slugs=list(reasons)[:limit * 3 + 10])
    chosen = []
    for slug, reason in reasons.items():
        card = cards.get(slug)
        if card is not None and card["in_stock"]:
            chosen.append(Recommended(card=card, reason=reason))
            if len(chosen) >= limit:
                break
    return chosen


def _category_name(category: str) -> str:
    return category.replace("-", " ")


def _similar_candidates(slug: str, found: Mapping[str, list[list]]) -> list[tuple[str, str]]:
    """"Similar items": what shoppers viewed along with it (often the alternatives they weighed), then what the
    catalogue's words make alike."""
    return [*((s, "Shoppers who viewed this also viewed it") for s, _ in found.get(_viewed(slug), [])),
            *((s, "Similar to this product") for s, _ in found.get(_similar(slug), []))]


def product_sections(*, slug: str, category: str, limit: int = 6,
                     exclude: Iterable[str] = ()) -> dict[str, list[Recommended]]:
    """Both sections of a product's page from one query of the stored lists: "bought_together" (co-purchase,
    padded with the category's most bought) and "similar"."""
    found = selectors.lists([_viewed(slug), _similar(slug), _popular(category)], bought=[slug])
    excluded = {slug, *exclude}
    bought = [(s, "Customers who bought this also bought it") for s, _ in found.get(_bought(slug), [])]
    popular = [(s, f"Popular in {_category_name(category)}") for s, _ in found.get(_popular(category), [])]
    similar = _similar_candidates(slug, found)
    together = _served([*bought, *popular], exclude=excluded, limit=limit)
    return {"bought_together": together,
            "similar": _served(similar, exclude=excluded | {r.card["slug"] for r in together}, limit=limit)}


def product_recommendations(*, slug: str, kind: str, limit: int) -> list[Recommended]:
    """One kind of a product's recommendations (the API): ProductNotFound for a product shoppers cannot see."""
    card = catalog_services.product_cards(slugs=[slug]).get(slug)
    if card is None:
        raise ProductNotFound(slug[:100])
    found = selectors.lists([_viewed(slug), _similar(slug), _popular(card["category"])], bought=[slug])
    if kind == "similar":
        candidates = _similar_candidates(slug, found)
    else:
        candidates = [(s, "Customers who bought this also bought it") for s, _ in found.get(_bought(slug), [])]
    candidates += [(s, f"Popular in {_category_name(card['category'])}")
                   for s, _ in found.get(_popular(card["category"]), [])]
    return _served(candidates, exclude={slug}, limit=limit)


def cart_recommendations(*, product_slugs: Iterable[str], names: Mapping[str, str] | None = None,
                         limit: int = 6) -> list[Recommended]:
    """"You might also like" for a cart: the co-purchase lists of all its products blended, then the shop's most
    bought; never a product already in the cart. One query of the stored lists."""
    in_cart = list(dict.fromkeys(product_slugs))
    if not in_cart:
        return []
    names = names or {}
    found = selectors.lists([_popular(ALL)], bought=in_cart)
    lists = {s: found.get(_bought(s), []) for s in in_cart}
    ranked = learning.blend(lists.values(), exclude=in_cart)
    because: dict[str, str] = {}
    for slug in ranked:  # named after the cart product whose list ranks it highest
        source = max(in_cart, key=lambda s: next((score for other, score in lists[s] if other == slug), 0))
        because[slug] = f"Goes with {names.get(source) or _category_name(source)}"
    candidates = [(s, because[s]) for s in ranked]
    candidates += [(s, "Popular in the shop") for s, _ in found.get(_popular(ALL), [])]
    return _served(candidates, exclude=in_cart, limit=limit)


# ---------------------------------------------------------------- product views
# A view is counted per visitor without slowing the product page: the web process keeps it in memory and hands
# the views to Redis in one pipelined call every VIEW_BATCH views or VIEW_FLUSH_SECONDS (whichever comes first, at
# the next view); Celery (views_learn, every minute) turns them into co-view counts and lists. Views are a hint:
# a batch lost with a process or to a Redis outage costs a little signal, never a page.
VIEW_BATCH = 200
VIEW_FLUSH_SECONDS = 1.0
VIEW_HISTORY = 20  # a view pairs with the visitor's last products, up to this many
VIEW_TTL = 24 * 3600  # a visitor's unlearned views in Redis
VIEWS_TAKEN = 100_000  # a visitor's views taken at once by views_learn (more than a day of anyone's browsing)
_views: list[tuple[str, str]] = []
_views_lock = threading.Lock()
_views_flushed = [time.monotonic()]


def _views_key(name: str) -> str:
    return caches["default"].make_key(f"recs:views:{name}")


def product_view_record(*, visitor: str, slug: str) -> None:
    """A product page was viewed by ``visitor`` (a session key; only its hash is kept). Buffered here."""
    who = hashlib.blake2b(visitor.encode(), digest_size=16).hexdigest()
    with _views_lock:
        _views.append((who, slug[:255]))
        now = time.monotonic()
        if len(_views) < VIEW_BATCH and now - _views_flushed[0] < VIEW_FLUSH_SECONDS:
            return
        batch = _views[:]
        _views.clear()
        _views_flushed[0] = now
    _views_send(batch)


def product_views_flush() -> int:
    """Send this process's buffered views now (tests; a process's shutdown). Returns how many."""
    with _views_lock:
        batch = _views[:]
        _views.clear()
        _views_flushed[0] = time.monotonic()
    _views_send(batch)
    return len(batch)


def _views_send(batch: list[tuple[str, str]]) -> None:
    if not batch:
        return
    try:
        pipe = get_redis_connection("default").pipeline(transaction=False)
        for who, slug in batch:
            pipe.rpush(_views_key(who), slug)
            pipe.expire(_views_key(who), VIEW_TTL)
        pipe.sadd(_views_key("pending"), *{who for who, _ in batch})
        pipe.expire(_views_key("pending"), VIEW_TTL)
        pipe.execute()
    except Exception:
        logger.warning("recommendations: %s product views not recorded (Redis)", len(batch), exc_info=True)


def views_learn(*, visitors: int = 2000) -> int:
    """Celery, every minute: the views Redis holds, for up to ``visitors`` visitors, become co-view counts (each
    new view with the visitor's last VIEW_HISTORY products), and the lists of the products they touch are
    recomputed. Returns how many views were learned."""
    redis = get_redis_connection("default")
    who = [w.decode() if isinstance(w, bytes) else w for w in redis.spop(_views_key("pending"), visitors) or []]
    if not who:
        return 0
    # each visitor's views taken in one step (LPOP with a count: read and removed at once, none lost between), one
    # key each, so on a Redis Cluster the pipeline sends each to its own node (a transaction would need one slot)
    pipe = redis.pipeline(transaction=False)
    for w in who:
        pipe.lpop(_views_key(w), VIEWS_TAKEN)
    answers = pipe.execute()
    views = {w: [v.decode() if isinstance(v, bytes) else v for v in answers[n] or []] for n, w in enumerate(who)}
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    learned = 0
    with transaction.atomic():
        history = dict(VisitorViews.objects.select_for_update().filter(visitor__in=list(views))
                       .values_list("visitor", "products"))
        rows = []
        for w, slugs in views.items():
            seen = list(history.get(w, []))
            for slug in slugs:
                learned += 1
                if seen and seen[-1] == slug:
                    continue  # a reload
                for other in set(seen) - {slug}:
                    pairs[(slug, other)] += 1
                    pairs[(other, slug)] += 1
                seen = [*[s for s in seen if s != slug][-(VIEW_HISTORY - 1):], slug]
            rows.append(VisitorViews(visitor=w, products=seen, updated_at=timezone.now()))
        VisitorViews.objects.bulk_create(rows, update_conflicts=True, unique_fields=["visitor"],
                                         update_fields=["products", "updated_at"])
        if pairs:
            ordered = sorted(pairs.items())
            with connection.cursor() as cursor:
                cursor.execute(f"""
                    INSERT INTO {CoViewCount._meta.db_table} (product_slug, other_slug, views)
                    SELECT * FROM unnest(%s::text[], %s::text[], %s::int[])
                    ON CONFLICT (product_slug, other_slug) DO UPDATE
                    SET views = {CoViewCount._meta.db_table}.views + EXCLUDED.views
                """, [[a for (a, _), _ in ordered], [b for (_, b), _ in ordered],  # noqa: S608
                      [n for _, n in ordered]])
            touched = {a for a, _ in pairs}
            lists = _coview_lists(touched)
            _store({_viewed(slug): lists.get(slug, []) for slug in touched})
    return learned


def _coview_lists(slugs: set[str] | None) -> dict[str, list[list]]:
    """The co-view lists of ``slugs`` (every product's with None): the products viewed with it most, at least
    MIN_SUPPORT times, scored by their share of its co-views."""
    rows = CoViewCount.objects.filter(views__gte=learning.MIN_SUPPORT)
    if slugs is not None:
        rows = rows.filter(product_slug__in=slugs)
    neighbours: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for a, b, views in rows.values_list("product_slug", "other_slug", "views"):
        neighbours[a].append((b, views))
    return {slug: learning.bought_list(sum(v for _, v in found), found) for slug, found in neighbours.items()}


def visitor_views_forget(*, older_than_days: int = 30) -> int:
    """Visitors' view histories not touched for ``older_than_days`` are deleted (the co-view counts stay)."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    return VisitorViews.objects.filter(updated_at__lt=cutoff).delete()[0]
