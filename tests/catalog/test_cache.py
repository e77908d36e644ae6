"""Product pages and listings come from Redis; an edit or a stock change invalidates exactly what it affects."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import services
from catalog.models import Product, Variant
from inventory import services as inventory_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_a_cached_product_page_and_listing_need_no_database(client):
    spec = make_product()
    for path in [f"/p/{spec.slug}/", "/c/gear/", "/", f"/api/v1/products/{spec.slug}/", "/api/v1/products/"]:
        queries(client, path)
        assert queries(client, path) == 0, path


def test_a_price_edit_is_shown_at_once(client, on_commit):
    spec = make_product(price="20.00")
    assert services.variant_prices(skus=[spec.variants[0].sku])[spec.variants[0].sku].price == Decimal("20.00")
    assert b"$20.00" in client.get(f"/p/{spec.slug}/").content
    assert b"$20.00" in client.get("/c/gear/").content
    with on_commit():
        Variant.objects.filter(sku=spec.variants[0].sku).update(price=Decimal("17.50"))
        services.product_refresh(product_ids=[Product.objects.get(slug=spec.slug).id])
    assert b"$17.50" in client.get(f"/p/{spec.slug}/").content
    assert services.variant_prices(skus=[spec.variants[0].sku])[spec.variants[0].sku].price == Decimal("17.50")
    assert b"$17.50" in client.get("/c/gear/").content
    assert client.get(f"/api/v1/products/{spec.slug}/").json()["variants"][0]["price"] == "17.50"


def test_an_edit_leaves_other_products_and_other_categories_cached(client, on_commit):
    edited = make_product(category=(("home", "Home"), ("kitchen", "Kitchen")))
    other = make_product(category=(("camp", "Camping"), ("tents", "Tents")))
    for path in [f"/p/{other.slug}/", "/c/camp/", f"/p/{edited.slug}/", "/c/home/"]:
        client.get(path)
    with on_commit():
        services.product_refresh(product_ids=[Product.objects.get(slug=edited.slug).id])
    assert queries(client, f"/p/{other.slug}/") == 0
    assert queries(client, "/c/camp/") == 0
    assert queries(client, f"/p/{edited.slug}/") > 0
    assert queries(client, "/c/home/") > 0


def test_a_stock_change_updates_availability_on_the_page(client, on_commit):
    spec = make_product(stock=10)
    sku = spec.variants[0].sku
    assert b"In stock" in client.get(f"/p/{spec.slug}/").content
    with on_commit():
        inventory_services.stock_adjust(sku=sku, delta=-8, reason="count")
    assert b"Only 2 left" in client.get(f"/p/{spec.slug}/").content
    with on_commit():
        inventory_services.stock_adjust(sku=sku, delta=-2, reason="count")
    assert b"Sold out" in client.get(f"/p/{spec.slug}/").content
    assert client.get("/api/v1/products/").json()["results"][0]["in_stock"] is False


def test_hiding_a_product_removes_it_from_pages(client, on_commit):
    spec = make_product()
    assert client.get(f"/p/{spec.slug}/").status_code == 200
    with on_commit():
        Product.objects.filter(slug=spec.slug).update(is_active=False)
        services.product_refresh(product_ids=[Product.objects.get(slug=spec.slug).id])
    assert client.get(f"/p/{spec.slug}/").status_code == 404
    assert client.get("/api/v1/products/").json()["count"] == 0


def test_a_variant_deleted_in_admin_is_no_longer_sold(catalog_editor_client, on_commit):
    spec = make_product(stock=[3, 3])
    gone = spec.variants[1].sku
    assert gone in services.variant_prices(skus=[gone])  # cached now
    product = Product.objects.get(slug=spec.slug)
    variants = list(product.variants.order_by("position"))
    form = {"name": product.name, "slug": product.slug, "description": product.description,
            "category": product.category_id, "is_active": "on",
            "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "2",
            "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0"}
    for i, v in enumerate(variants):
        form.update({f"variants-{i}-id": v.pk, f"variants-{i}-product": product.pk, f"variants-{i}-sku": v.sku,
                     f"variants-{i}-name": v.name, f"variants-{i}-attributes": "{}", f"variants-{i}-price": v.price,
                     f"variants-{i}-currency": v.currency, f"variants-{i}-position": i})
    form["variants-1-DELETE"] = "on"
    with on_commit():
        response = catalog_editor_client.post(f"/admin/catalog/product/{product.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:1500]
    assert gone not in services.variant_prices(skus=[gone])
