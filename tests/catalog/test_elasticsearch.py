"""The Elasticsearch backend. No Elasticsearch server can run on these machines, so the document, the mapping and
the query bodies are checked offline (to_dict()); with ELASTICSEARCH_URL set the behaviour runs against a real
server (skipped with that reason otherwise)."""

import os
from decimal import Decimal

import pytest

from catalog import services
from catalog.documents import ProductDocument, search_body
from catalog.models import Product
from catalog.types import ProductFilters
from store.core.models import OutboxMessage
from tests.factories import make_product
from tests.ports import REFUSED_PORT

pytestmark = pytest.mark.django_db
ODD = r"""'"\&|!():*"""


@pytest.fixture
def product():
    spec = make_product(name="Trail Running Sneakers", prices=["89.00", "95.00"], stock=[0, 4],
                        category=(("footwear", "Footwear"), ("running", "Running Shoes")))
    return Product.objects.get(slug=spec.slug)


def test_the_document_carries_what_search_filters_and_facets_need(product):
    doc = ProductDocument().prepare(product)
    assert doc["name"] == "Trail Running Sneakers" and doc["slug"] == product.slug
    assert doc["category"] == "running" and doc["categories"] == ["running", "footwear"]
    assert doc["category_names"] == "Running Shoes Footwear"
    assert doc["attributes"] == ["size:S0", "size:S1"] and doc["attribute_text"] == "S0 S1"
    assert doc["price_from"] == 89.0 and doc["in_stock"] is True and doc["is_active"] is True


def test_the_mapping():
    properties = ProductDocument._doc_type.mapping.to_dict()["properties"]
    assert properties["name"]["type"] == "text" and properties["name"]["fields"]["raw"]["type"] == "keyword"
    assert properties["price_from"] == {"type": "scaled_float", "scaling_factor": 100}
    assert properties["attributes"]["type"] == "keyword" and properties["categories"]["type"] == "keyword"
    assert properties["in_stock"]["type"] == "boolean"


def test_the_query_body_matches_filters_facets_and_sort():
    body = search_body(ProductFilters(q="snekers", category="footwear", min_price=Decimal("10"),
                                      max_price=Decimal("100"), in_stock=True, sort="-price",
                                      attributes={"size": "M"}), page=2, per_page=24)
    should = body["query"]["bool"]["must"][0]["bool"]["should"] if "must" in body["query"]["bool"] else \
        body["query"]["bool"]["should"]
    multi = next(c["multi_match"] for c in should if "multi_match" in c)
    assert multi["query"] == "snekers" and multi["fuzziness"] == "AUTO" and "name^3" in multi["fields"]
    filters = body["query"]["bool"]["filter"]
    assert {"term": {"categories": "footwear"}} in filters
    assert {"range": {"price_from": {"gte": 10.0, "lte": 100.0}}} in filters
    assert {"term": {"in_stock": True}} in filters and {"term": {"attributes": "size:M"}} in filters
    assert set(body["aggs"]) == {"categories", "price", "in_stock", "attributes"}
    assert body["sort"] == [{"price_from": "desc"}, {"id": "desc"}]
    assert (body["from"], body["size"]) == (24, 24)


def test_the_rating_sort_and_filter_are_in_the_query_body():
    body = search_body(ProductFilters(sort="rating", min_rating=Decimal("4")), page=1, per_page=10)
    assert {"range": {"rating_average": {"gte": 4.0}}} in body["query"]["bool"]["filter"]
    assert body["sort"][0] == {"rating_average": {"order": "desc", "missing": "_last"}}


def test_a_relevance_query_has_no_sort_and_odd_text_is_just_text():
    body = search_body(ProductFilters(q=ODD), page=1, per_page=10)
    assert "sort" not in body
    assert body["query"]["bool"]["should"][0]["multi_match"]["query"] == ODD


def test_a_rating_change_is_indexed_through_the_outbox(product, settings):
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{REFUSED_PORT}"  # nothing answers: indexing happens in Celery
    services.product_rating_set(slug=product.slug, count=2, rating_sum=9)
    message = OutboxMessage.objects.get(topic="catalog.products_changed")
    assert message.payload == {"ids": [product.id]} and message.delivered_at is None
    assert ProductDocument().prepare_rating_average(type(product).objects.get(id=product.id)) == 4.5


def test_staff_edits_are_indexed_through_the_outbox_not_in_the_request(product, settings):
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{REFUSED_PORT}"  # nothing answers: indexing happens in Celery
    services.product_refresh(product_ids=[product.id])
    message = OutboxMessage.objects.get(topic="catalog.products_changed")
    assert message.payload == {"ids": [product.id]} and message.delivered_at is None


@pytest.mark.skipif(not os.environ.get("ELASTICSEARCH_URL"),
                    reason="no Elasticsearch server here: set ELASTICSEARCH_URL to run the same behaviour against one")
def test_against_a_real_elasticsearch(product, settings, client):
    settings.ELASTICSEARCH_URL = os.environ["ELASTICSEARCH_URL"]
    services.search_index_rebuild()
    from catalog.documents import products_index

    products_index.refresh()
    names = [c["name"] for c in client.get("/api/v1/products/", {"q": "snekers"}).json()["results"]]
    assert names == ["Trail Running Sneakers"]
