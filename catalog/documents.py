"""The Elasticsearch backend of product search (used when ELASTICSEARCH_URL is set): the product document, its
mapping, and the query body for the same filters, facets and sorts as the PostgreSQL backend. Indexing happens in
Celery from the outbox (``catalog.products_changed``), never in a request, so an Elasticsearch outage slows indexing
and never blocks a staff save or a shopper."""

from __future__ import annotations

from django.conf import settings
from django_elasticsearch_dsl import Document, Index, fields
from elasticsearch.dsl import A, Q, Search

from .models import Product
from .types import ProductFilters

products_index = Index(settings.ELASTICSEARCH_INDEX)
products_index.settings(number_of_shards=1, number_of_replicas=0)
PRICE_BUCKETS = [0, 25, 50, 100, 200, 500]
SORTS = {"price": [{"price_from": "asc"}, {"id": "asc"}], "-price": [{"price_from": "desc"}, {"id": "desc"}],
         "name": [{"name.raw": "asc"}, {"id": "asc"}], "newest": [{"created_at": "desc"}, {"id": "desc"}],
         "rating": [{"rating_average": {"order": "desc", "missing": "_last"}}, {"rating_count": "desc"},
                    {"id": "asc"}]}


@products_index.document
class ProductDocument(Document):
    name = fields.TextField(analyzer="english", fields={"raw": fields.KeywordField()})
    description = fields.TextField(analyzer="english")
    category = fields.KeywordField()
    categories = fields.KeywordField(multi=True)  # its category and the ones above it, by slug
    category_names = fields.TextField(analyzer="english")
    attributes = fields.KeywordField(multi=True)  # "size:M", "colour:Navy"
    attribute_text = fields.TextField(analyzer="english")
    price_from = fields.ScaledFloatField(scaling_factor=100)
    in_stock = fields.BooleanField()
    is_active = fields.BooleanField()
    rating_average = fields.ScaledFloatField(scaling_factor=100)  # null while no review is published
    rating_count = fields.IntegerField()

    class Django:
        model = Product
        fields = ["id", "slug", "created_at"]
        ignore_signals = True  # indexing follows the outbox, not model signals

    def get_queryset(self):
        return super().get_queryset().select_related("category__parent").prefetch_related("variants")

    def prepare_category(self, product):
        return product.category.slug

    def prepare_categories(self, product):
        chain, category = [], product.category
        while category is not None and len(chain) < 10:
            chain.append(category.slug)
            category = category.parent
        return chain

    def prepare_category_names(self, product):
        parent = product.category.parent
        return " ".join(filter(None, [product.category.name, parent.name if parent else ""]))

    def prepare_attributes(self, product):
        return sorted({f"{k}:{v}" for variant in product.variants.all() for k, v in (variant.attributes or {}).items()})

    def prepare_attribute_text(self, product):
        values = {str(v) for variant in product.variants.all() for v in (variant.attributes or {}).values()}
        return " ".join(sorted(values))

    def prepare_rating_average(self, product):
        return float(product.rating_average) if product.rating_average is not None else None

    def prepare_price_from(self, product):
        return float(product.price_from) if product.price_from is not None else None


def search_body(filters: ProductFilters, *, page: int, per_page: int) -> dict:
    """The Elasticsearch request for a listing: matching (typos via fuzziness, partial words via prefixes), the
    filters, the facets (aggregations) and the sort of the PostgreSQL backend."""
    search = Search(index=settings.ELASTICSEARCH_INDEX).filter("term", is_active=True).filter("exists",
                                                                                              field="price_from")
    if filters.q:
        search = search.query(Q("bool", should=[
            Q("multi_match", query=filters.q, fields=["name^3", "category_names^2", "attribute_text^2", "description"],
              fuzziness="AUTO"),
            Q("match_phrase_prefix", name={"query": filters.q, "boost": 2}),
        ], minimum_should_match=1))
    post = []
    if filters.category:
        search = search.filter("term", categories=filters.category)
    if filters.min_price is not None or filters.max_price is not None:
        bounds = {}
        if filters.min_price is not None:
            bounds["gte"] = float(filters.min_price)
        if filters.max_price is not None:
            bounds["lte"] = float(filters.max_price)
        search = search.filter("range", price_from=bounds)
    if filters.in_stock:
        search = search.filter("term", in_stock=True)
    if filters.min_rating is not None:
        search = search.filter("range", rating_average={"gte": float(filters.min_rating)})
    for name, value in sorted(filters.attributes.items()):
        post.append(Q("term", attributes=f"{name}:{value}"))
    for clause in post:
        search = search.filter(clause)
    search.aggs.bucket("categories", A("terms", field="category", size=50))
    search.aggs.bucket("price", A("range", field="price_from", ranges=[
        {"from": lo, **({"to": hi} if hi is not None else {})}
        for lo, hi in zip(PRICE_BUCKETS, [*PRICE_BUCKETS[1:], None], strict=True)]))
    search.aggs.bucket("in_stock", A("filter", term={"in_stock": True}))
    search.aggs.bucket("attributes", A("terms", field="attributes", size=100))
    sort = filters.sort or ("relevance" if filters.q else "newest")
    if sort != "relevance":
        search = search.sort(*SORTS[sort])
    start = (page - 1) * per_page
    return search[start:start + per_page].source(["id"]).to_dict()


def search_execute(filters: ProductFilters, *, page: int, per_page: int) -> tuple[list[int], int, dict]:
    """Run the listing on Elasticsearch: (product ids in order, total, the aggregations as plain dicts)."""
    response = Search.from_dict(search_body(filters, page=page, per_page=per_page)).index(
        settings.ELASTICSEARCH_INDEX).execute()
    ids = [int(hit.meta.id) for hit in response.hits]
    return ids, response.hits.total.value, response.aggregations.to_dict()


def index_products(product_ids) -> None:
    """(Re)index these products; the outbox relay calls this in Celery."""
    ProductDocument().update(Product.objects.filter(id__in=list(product_ids)))


def rebuild_index() -> int:
    products_index.delete(ignore=[404])
    products_index.create()
    ProductDocument().update(ProductDocument().get_queryset().iterator(chunk_size=500))
    return Product.objects.count()
