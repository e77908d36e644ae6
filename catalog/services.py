"""The catalogue's public interface: what other apps may read (``variant_prices``) and the use cases that change
the catalogue, each keeping the derived fields (lowest price, in stock) and the cache generations current."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone

from inventory import services as inventory_services
from store.core import cache as cache_versions
from store.core import outbox
from store.core.exceptions import InvalidInput

from . import selectors
from .models import Category, Product, ProductImage, SearchWord, Variant
from .types import ProductFilters, ProductSpec, VariantInfo

logger = logging.getLogger(__name__)
PRODUCTS_CHANGED = "catalog.products_changed"  # outbox: {"ids": [...]}, for the Elasticsearch index
# outbox: {"slugs": [...], "at": ISO time}: products deleted, for apps that keep data under a product's slug (reviews)
PRODUCTS_DELETED = "catalog.products_deleted"
ATTRIBUTE_NAME = re.compile(r"[a-z][a-z_]{0,29}")


# ---------------------------------------------------------------- reads for other apps and the layout
_IMAGE_STORAGE = ProductImage._meta.get_field("image").storage


def variant_prices(*, skus: Iterable[str], near: bool = False) -> dict[str, VariantInfo]:
    """Current name and price of each known SKU (the cart and checkout re-read these; a cart never keeps a price).
    ``near``: from this process's memory while nothing changed (what a cart shows); never for charging.

    Served from Redis in one round trip; each entry is versioned by its SKU's scope, which every change to the
    product (price, name, visibility, the variant itself) bumps, so a changed price is never served."""
    skus = list(dict.fromkeys(skus))

    def build(keys: list[str]) -> dict[str, VariantInfo]:
        wanted = [key.removeprefix("catalog:variant:") for key in keys]
        first_image = ProductImage.objects.filter(product=OuterRef("product_id")).order_by("position", "id")
        variants = Variant.objects.filter(sku__in=wanted).select_related("product__category__parent").annotate(
            first_image=Subquery(first_image.values("image")[:1]))
        return {
            f"catalog:variant:{v.sku}": VariantInfo(
                sku=v.sku, product_slug=v.product.slug, product_name=v.product.name, variant_name=v.name,
                price=v.price, currency=v.currency, is_active=v.product.is_active, weight=v.weight,
                category_slugs=tuple(c.slug for c in (v.product.category, v.product.category.parent) if c),
                image_url=_IMAGE_STORAGE.url(v.first_image) if v.first_image else "")
            for v in variants
        }

    found = cache_versions.versioned_many({f"catalog:variant:{sku}": (variant_scope(sku),) for sku in skus}, build,
                                          timeout=settings.CATALOG_CACHE_SECONDS, near=near)
    return {info.sku: info for info in found.values()}


def variant_names(skus: Iterable[str]) -> dict[str, str]:
    """Each known SKU's "Product — Variant", for staff screens (inventory asks through sku_names_provide)."""
    rows = Variant.objects.filter(sku__in=list(skus)).values_list("sku", "product__name", "name")
    return {sku: f"{product} — {name}" if name else product for sku, product, name in rows}


def variant_skus_matching(text: str, limit: int = 1000) -> list[str]:
    """SKUs whose product or variant name contains ``text`` (any case), for staff searching stock by name."""
    text = text.strip()[:200]
    if not text:
        return []
    return list(Variant.objects.filter(Q(product__name__icontains=text) | Q(name__icontains=text))
                .order_by("sku").values_list("sku", flat=True)[:limit])


def variant_scope(sku: str) -> str:
    """The cache scope (store.core.cache) of a SKU's name, price and visibility (variant_prices's entries): bumped
    after every change to them commits."""
    return f"sku:{sku}"


def category_menu() -> list[dict]:
    """Top-level categories for the header, from the cache."""
    return [c for c in selectors.category_tree() if c["parent"] is None]


def product_filters_parse(params) -> ProductFilters:
    """Shopper-supplied query parameters → filters. Bad values raise InvalidInput (a 400), never a 500."""
    def price(name: str) -> Decimal | None:
        raw = (params.get(name) or "").strip()
        if not raw:
            return None
        try:
            value = Decimal(raw)
        except ArithmeticError:
            raise InvalidInput(f"{name} must be a number, not {raw[:20]!r}.", extra={"param": name}) from None
        if not value.is_finite() or value < 0 or value > Decimal("1e9"):
            raise InvalidInput(f"{name} must be between 0 and 1000000000.", extra={"param": name})
        return value.quantize(Decimal("0.01"))

    raw_rating = (params.get("min_rating") or "").strip()
    min_rating = None
    if raw_rating:
        try:
            min_rating = Decimal(raw_rating)
        except ArithmeticError:
            min_rating = Decimal("NaN")
        if not min_rating.is_finite() or not 1 <= min_rating <= 5:
            raise InvalidInput("min_rating must be a number of stars from 1 to 5.", extra={"param": "min_rating"})
        min_rating = min_rating.quantize(Decimal("0.1"))
    sort = (params.get("sort") or "").strip()
    if sort and sort not in selectors.SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(selectors.SORTS)}.", extra={"param": "sort"})
    in_stock = (params.get("in_stock") or "").strip().lower()
    if in_stock not in {"", "true", "false", "1", "0", "yes", "no", "on", "off"}:
        raise InvalidInput("in_stock must be true or false.", extra={"param": "in_stock"})
    exact = (params.get("exact") or "").strip().lower()
    if exact not in {"", "true", "false", "1", "0", "yes", "no", "on", "off"}:
        raise InvalidInput("exact must be true or false.", extra={"param": "exact"})
    attributes = {}
    for name in sorted(params.keys()):
        if name.startswith("attr_") and len(attributes) < 5:
            key, value = name[5:], str(params.get(name) or "").strip()[:200]
            if not ATTRIBUTE_NAME.fullmatch(key):
                raise InvalidInput(f"{name[:40]!r} is not a filter: attribute names are lower-case words.",
                                   extra={"param": name[:40]})
            if value:
                attributes[key] = value
    return ProductFilters(
        attributes=attributes,
        q=" ".join((params.get("q") or "").split())[:200],
        category=(params.get("category") or "").strip()[:140],
        min_price=price("min_price"),
        max_price=price("max_price"),
        in_stock=in_stock in {"true", "1", "yes", "on"},
        sort=sort,
        min_rating=min_rating,
        exact=exact in {"true", "1", "yes", "on"},
    )


# ---------------------------------------------------------------- cache generations
def _bump(*scopes: str) -> None:
    cache_versions.bump(scopes)


def _scopes(products: Iterable[tuple[str, int]]) -> set[str]:
    """A product's page, the listings of its category and the categories above it, and the shop-wide lists."""
    tree = {c["id"]: c for c in selectors.category_tree()}
    by_slug = {c["slug"]: c for c in tree.values()}
    scopes = {selectors.ALL}
    for slug, category_id in products:
        scopes.add(f"p:{slug}")
        category = tree.get(category_id)
        while category is not None:
            scopes.add(f"c:{category['slug']}")
            category = by_slug.get(category["parent"])
    return scopes


def catalog_invalidate(*, products: Iterable[tuple[str, int]] = (), skus: Iterable[str] = (),
                       categories_changed: bool = False) -> None:
    """After the current transaction commits, drop exactly the cached pages that (slug, category_id) pairs affect,
    and the cached name and price of these SKUs."""
    products = list(products)
    skus = list(skus)

    def bump() -> None:
        scopes = _scopes(products) | {variant_scope(sku) for sku in skus}
        if categories_changed:
            scopes.add(selectors.CATEGORIES)
        _bump(*scopes)

    transaction.on_commit(bump)


def products_delete(*, product_ids: Iterable[int]) -> int:
    """Staff delete products (their variants and images go with them): their pages and listings are rebuilt, and
    PRODUCTS_DELETED is announced in the same transaction, so the apps above that keep something under a product's
    slug (its reviews and rating) drop it, and a new product given the same slug later starts without it."""
    with transaction.atomic():
        products = list(Product.objects.filter(id__in=list(product_ids)).values_list("id", "slug", "category_id"))
        ids = [product_id for product_id, _, _ in products]
        skus = list(Variant.objects.filter(product_id__in=ids).values_list("sku", flat=True))
        for product in Product.objects.filter(id__in=ids):
            product.delete()  # one by one, as the admin deletes one: the cascades and signals of each
        if products:
            outbox.publish(PRODUCTS_DELETED, {"slugs": [slug for _, slug, _ in products],
                                              "at": timezone.now().isoformat()})
        catalog_invalidate(products=[(slug, category_id) for _, slug, category_id in products], skus=skus)
    return len(products)


def product_variants(*, slug: str) -> dict[str, str]:
    """An active product's SKUs and their variant names, from the cached product entry (reviews ask: is the
    product real, which variant was bought). ProductNotFound for no such product."""
    return {v["sku"]: v["name"] for v in selectors.product_detail(slug=slug)["variants"]}


def product_rating_set(*, slug: str, count: int, rating_sum: int) -> None:
    """The reviews app's rating of a product, copied here in its write's transaction (it holds the lock on its own
    rating row, so the last to commit writes last): cards, product bodies, sort=rating and min_rating read it.
    The product's page and listings are rebuilt after commit."""
    average = (Decimal(rating_sum) / count).quantize(Decimal("0.01")) if count else None
    touched = list(Product.objects.filter(slug=slug).values_list("slug", "category_id"))
    Product.objects.filter(slug=slug).update(rating_count=count, rating_average=average)
    if settings.ELASTICSEARCH_URL and touched:
        outbox.publish(PRODUCTS_CHANGED, {"ids": list(Product.objects.filter(slug=slug).values_list("id", flat=True))})
    catalog_invalidate(products=touched)


def product_page_changed(*, slug: str) -> None:
    """After the current transaction commits, the product's page is rebuilt: something a higher app shows on it
    (its reviews, through their template tag) changed. Listings and other pages keep their entries."""
    transaction.on_commit(lambda: _bump(f"p:{slug}"))


def product_pages_changed(*, slugs: Iterable[str]) -> None:
    """product_page_changed for many products at once: one bump after the current transaction commits."""
    scopes = [f"p:{slug}" for slug in dict.fromkeys(slugs)]
    if scopes:
        transaction.on_commit(lambda: _bump(*scopes))


def product_cards(*, slugs: Iterable[str]) -> dict[str, dict]:
    """Cards (slug, name, price, currency, in_stock, image_url, url, category, rating) of the products among
    ``slugs`` that shoppers may see; others are left out. One Redis round trip when they are cached."""
    return selectors.product_cards(slugs=slugs)


def slugs_unknown(*, products: Iterable[str] = (), categories: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The product slugs and the category slugs among these that the catalogue has no product or category by (for
    staff naming them elsewhere, such as the products a promo code applies to)."""
    products, categories = set(products), set(categories)
    known_products = set(Product.objects.filter(slug__in=products).values_list("slug", flat=True))
    known_categories = set(Category.objects.filter(slug__in=categories).values_list("slug", flat=True))
    return sorted(products - known_products), sorted(categories - known_categories)


def product_features() -> list[dict]:
    """Every visible product's slug, name, description, category, parent_category, attribute values and SKUs."""
    return selectors.product_features()


# ---------------------------------------------------------------- changes
def _skus_by_product(product_ids: Iterable[int]) -> dict[int, list[str]]:
    skus: dict[int, list[str]] = {}
    for product_id, sku in Variant.objects.filter(product_id__in=list(product_ids)).values_list("product_id", "sku"):
        skus.setdefault(product_id, []).append(sku)
    return skus


@transaction.atomic
def product_refresh(*, product_ids: Iterable[int], previous_category_ids: Iterable[int] = (),
                    previous_skus: Iterable[str] = ()) -> None:
    """After staff or an import changed products: stock rows for new SKUs, the lowest price, the in-stock flag,
    and the cache entries they affect (a product moved between categories refreshes both listings; SKUs it had
    before, deleted since, are refreshed too)."""
    ids = list(product_ids)
    skus = _skus_by_product(ids)
    all_skus = [sku for product_skus in skus.values() for sku in product_skus]
    inventory_services.stock_levels_ensure(initial_on_hand=dict.fromkeys(all_skus, 0))
    available = inventory_services.stock_availability(skus=all_skus)
    prices = dict(Variant.objects.filter(product_id__in=ids).values_list("product_id").annotate(m=Min("price")))
    products = list(Product.objects.filter(id__in=ids).only("id", "slug", "category_id"))
    for product in products:
        product.price_from = prices.get(product.id)
        product.in_stock = any(available.get(sku, 0) > 0 for sku in skus.get(product.id, []))
    Product.objects.bulk_update(products, ["price_from", "in_stock"], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute(_SEARCH_DOCUMENT_SQL, [ids])
        cursor.execute(_SEARCH_WORDS_SQL, [ids])
    if settings.ELASTICSEARCH_URL and ids:
        outbox.publish(PRODUCTS_CHANGED, {"ids": ids})  # Elasticsearch indexing, in Celery, after commit
    touched = [(p.slug, p.category_id) for p in products]
    touched.extend(("", category_id) for category_id in previous_category_ids)
    catalog_invalidate(products=touched, skus=[*all_skus, *previous_skus])


_SEARCH_DOCUMENT_SQL = f"""
    UPDATE {Product._meta.db_table} p SET search_document =
        setweight(to_tsvector('english', p.name), 'A')
        || setweight(to_tsvector('english', coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), 'B')
        || setweight(to_tsvector('english', coalesce((
               SELECT string_agg(a.value, ' ') FROM {Variant._meta.db_table} v, jsonb_each_text(v.attributes) a
               WHERE v.product_id = p.id), '')), 'B')
        || setweight(to_tsvector('english', p.description), 'C')
        -- the words as written too (no stemming, no stop words): every prefix of a name's word finds it, where
        -- the English stems alone lose "recy" (recycled -> recycl) and stop words ("Down", "can" of canvas)
        || setweight(to_tsvector('simple', p.name), 'A')
        || setweight(to_tsvector('simple', coalesce(c.name, '') || ' ' || coalesce(parent.name, '')), 'B'),
        attribute_values = coalesce((  -- (a JSON null is no value)
            SELECT array_agg(DISTINCT a.key || '=' || a.value)
            FROM {Variant._meta.db_table} v, jsonb_each_text(v.attributes) a
            WHERE v.product_id = p.id AND a.value IS NOT NULL), '{{}}')
    FROM {Category._meta.db_table} c LEFT JOIN {Category._meta.db_table} parent ON parent.id = c.parent_id
    WHERE c.id = p.category_id AND p.id = ANY(%s)
"""  # noqa: S608 (table names from our models; the ids are a bound parameter)
_SEARCH_WORDS_SQL = f"""
    INSERT INTO {SearchWord._meta.db_table} (word)
    SELECT DISTINCT w
    FROM {Product._meta.db_table} p JOIN {Category._meta.db_table} c ON c.id = p.category_id,
        regexp_split_to_table(lower(p.name || ' ' || c.name || ' ' || array_to_string(p.attribute_values, ' ')),
                              '[^[:alnum:]]+') w
    WHERE p.id = ANY(%s) AND length(w) BETWEEN 3 AND 40
    ON CONFLICT DO NOTHING
"""  # noqa: S608 (table names from our models; the ids are a bound parameter)
_PRODUCTS_OF_SKUS_SQL = f"""
    SELECT v.sku, p.id, p.slug, p.category_id, p.in_stock
    FROM {Variant._meta.db_table} v JOIN {Product._meta.db_table} p ON p.id = v.product_id
    WHERE v.sku = ANY(%s)
"""  # noqa: S608 (table names from our models; the SKUs are a bound parameter)


def catalog_stock_changed(*, available: dict[str, int], before: dict[str, int] | None = None) -> None:
    """Subscriber of inventory's ``stock.changed``: the product pages of these SKUs show fresh availability; the
    in-stock flag (and so the listings) is recomputed only for a product whose SKU crossed zero. The common case,
    a unit reserved while more remain (``before`` says no SKU crossed zero), costs no query: the pages are found
    from the SKUs' cached names (variant_prices), and bumped in one Redis round trip."""
    if before is not None and all((before.get(sku, 0) > 0) == (units > 0) for sku, units in available.items()):
        pages = {f"p:{info.product_slug}" for info in variant_prices(skus=available).values()}
        transaction.on_commit(lambda: _bump(*pages))
        return
    with connection.cursor() as cursor:  # every reservation lands here: one plain query, no ORM compile
        cursor.execute(_PRODUCTS_OF_SKUS_SQL, [list(available)])
        rows = cursor.fetchall()
    if not rows:
        return
    crossed = {product_id for sku, product_id, _, _, in_stock in rows if (available[sku] > 0) != in_stock}
    pages = {f"p:{slug}" for _, _, slug, _, _ in rows}
    flipped = []
    if crossed:
        skus_of = _skus_by_product(crossed)
        levels = inventory_services.stock_availability(skus=[s for v in skus_of.values() for s in v])
        with transaction.atomic():
            for product in Product.objects.select_for_update().filter(id__in=crossed).only(
                    "id", "slug", "category_id", "in_stock"):
                in_stock = any(levels.get(sku, 0) > 0 for sku in skus_of.get(product.id, []))
                if in_stock != product.in_stock:
                    Product.objects.filter(id=product.id).update(in_stock=in_stock)
                    flipped.append((product.slug, product.category_id))
    listings = _scopes(flipped) if flipped else set()
    transaction.on_commit(lambda: _bump(*pages, *listings))


def category_changed() -> None:
    catalog_invalidate(categories_changed=True)


# ---------------------------------------------------------------- imports (seed data, feeds)
def _category_for(path: tuple[tuple[str, str], ...], known: dict[str, Category]) -> Category:
    parent = None
    for position, (slug, name) in enumerate(path):
        category = known.get(slug)
        if category is None:
            category = Category.objects.create(slug=slug, name=name, parent=parent, position=position)
            known[slug] = category
        parent = category
    return parent


@transaction.atomic
def catalog_import(*, products: Iterable[ProductSpec]) -> int:
    """Store products that are not in the catalogue yet (matched by slug, so re-running adds nothing twice),
    with their categories, variants, image and opening stock. Returns how many were created."""
    specs = list(products)
    existing = set(Product.objects.filter(slug__in=[s.slug for s in specs]).values_list("slug", flat=True))
    taken_skus = set(Variant.objects.filter(
        sku__in=[v.sku for s in specs for v in s.variants]).values_list("sku", flat=True))
    new = [s for s in specs if s.slug not in existing and not any(v.sku in taken_skus for v in s.variants)]
    if not new:
        return 0
    known = {c.slug: c for c in Category.objects.all()}
    rows = Product.objects.bulk_create(
        Product(slug=s.slug, name=s.name, description=s.description, is_featured=s.is_featured,
                category=_category_for(s.category_path, known))
        for s in new
    )
    variants, images = [], []
    storage_dir = Path(settings.MEDIA_ROOT) / "products"
    storage_dir.mkdir(parents=True, exist_ok=True)
    for product, spec in zip(rows, new, strict=True):
        variants.extend(
            Variant(product=product, sku=v.sku, name=v.name, attributes=v.attributes, price=v.price,
                    currency=settings.STORE_CURRENCY, position=n, weight=v.weight)
            for n, v in enumerate(spec.variants)
        )
        if spec.image_jpeg:
            name = f"products/{spec.slug}.jpg"
            (Path(settings.MEDIA_ROOT) / name).write_bytes(spec.image_jpeg)
            images.append(ProductImage(product=product, image=name, alt_text=spec.name))
    for variant in variants:
        # field validation here; uniqueness and the check constraints are enforced by the database in one go
        variant.full_clean(exclude=["product"], validate_unique=False, validate_constraints=False)
    Variant.objects.bulk_create(variants, batch_size=2000)
    ProductImage.objects.bulk_create(images, batch_size=2000)
    inventory_services.stock_levels_ensure(
        initial_on_hand={v.sku: v.on_hand for s in new for v in s.variants}, reason="opening stock")
    product_refresh(product_ids=[p.id for p in rows])
    catalog_invalidate(categories_changed=True)
    return len(rows)


def products_index(payload: dict) -> None:
    """Outbox subscriber of ``catalog.products_changed``: index them in Elasticsearch (retried if it is down)."""
    from .documents import index_products

    index_products(payload["ids"])


def search_index_rebuild(*, batch: int = 2000) -> int:
    """Rebuild the active backend's index: every product's search document in PostgreSQL (and what
    product_refresh derives with it), and the Elasticsearch index when ELASTICSEARCH_URL is set."""
    if settings.ELASTICSEARCH_URL:
        from .documents import rebuild_index

        rebuild_index()
    ids = list(Product.objects.order_by("id").values_list("id", flat=True))
    SearchWord.objects.all().delete()  # the lexicon is rebuilt with the documents, without words of the past
    for start in range(0, len(ids), batch):
        product_refresh(product_ids=ids[start:start + batch])
    catalog_analyze()
    return len(ids)


def catalog_analyze() -> None:
    """Refresh the planner's statistics of the catalogue's tables after a bulk import."""
    with connection.cursor() as cursor:
        for model in (Category, Product, Variant, ProductImage, SearchWord):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def catalog_is_empty() -> bool:
    return not Product.objects.exists()
