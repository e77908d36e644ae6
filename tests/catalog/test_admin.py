import pytest

from catalog.models import Category, Product
from inventory import services as inventory_services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_admin_is_staff_only(client):
    response = client.get("/admin/catalog/product/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("path", "shows"), [
    ("/admin/", "Site administration"), ("/admin/catalog/product/", "Listed Lantern"),
    ("/admin/catalog/category/", "Packs"), ("/admin/inventory/stocklevel/", "{sku}"),
    ("/admin/inventory/stocklevel/?availability=low", "0 stock levels"), ("/admin/inventory/stockmovement/", "{sku}"),
])
def test_admin_pages_open_for_the_least_staff_role(support_client, path, shows):
    sku = make_product(name="Listed Lantern", stock=10).variants[0].sku
    page = support_client.get(path)
    assert page.status_code == 200 and shows.format(sku=sku) in page.content.decode()


def test_staff_search_products_in_the_admin(support_client):
    make_product(name="Listed Lantern")
    make_product(name="Copper Kettle")
    page = support_client.get("/admin/catalog/product/", {"q": "lantern"}).content.decode()
    assert "Listed Lantern" in page and "Copper Kettle" not in page


def test_product_change_page_shows_stock_beside_each_variant(support_client):
    spec = make_product(stock=[7, 2])
    product = Product.objects.get(slug=spec.slug)
    html = support_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert "<strong>7</strong> / 7" in html and "<strong>2</strong> / 2" in html


def test_adding_a_product_with_a_variant_in_admin_creates_its_stock_row(catalog_editor_client, on_commit):
    category = Category.objects.create(name="Packs", slug="packs")
    form = {
        "name": "Summit Pack", "slug": "summit-pack", "description": "Big.", "category": category.pk,
        "is_active": "on",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "SUMMIT-1", "variants-0-name": "40 l", "variants-0-attr_size": "40 l",
        "variants-0-price": "129.00", "variants-0-currency": "USD", "variants-0-position": "0",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    }
    assert catalog_editor_client.get("/admin/catalog/product/add/").status_code == 200
    with on_commit():
        response = catalog_editor_client.post("/admin/catalog/product/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert inventory_services.stock_levels(sku="SUMMIT-1").on_hand == 0
    product = Product.objects.get(slug="summit-pack")
    assert str(product.price_from) == "129.00"
    assert catalog_editor_client.get("/api/v1/products/summit-pack/").json()["variants"][0]["available"] == 0
    assert product.variants.get().attributes == {"size": "40 l"}


def test_variant_attributes_are_edited_as_fields_not_json(catalog_editor_client, on_commit):
    spec = make_product(stock=[3])  # attributes {"size": "S0"}
    product = Product.objects.get(slug=spec.slug)
    variant = product.variants.get()
    url = f"/admin/catalog/product/{product.pk}/change/"
    html = catalog_editor_client.get(url).content.decode()
    assert 'name="variants-0-attr_size"' in html and 'value="S0"' in html
    assert 'name="variants-0-attributes"' not in html  # no JSON box
    form = {"name": product.name, "slug": product.slug, "description": "x", "category": product.category_id,
            "is_active": "on", "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "1",
            "variants-0-id": variant.pk, "variants-0-product": product.pk, "variants-0-sku": variant.sku,
            "variants-0-name": "Large", "variants-0-attr_size": "L", "variants-0-attr_new": "colour = Navy",
            "variants-0-price": "20.00", "variants-0-currency": "USD", "variants-0-position": "0",
            "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0"}
    with on_commit():
        response = catalog_editor_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    variant.refresh_from_db()
    assert variant.attributes == {"size": "L", "colour": "Navy"}
    response = catalog_editor_client.post(url, {**form, "variants-0-attr_new": "not a pair"})
    assert response.status_code == 200 and "Write name=value" in response.content.decode()
    with on_commit():
        catalog_editor_client.post(url, {**form, "variants-0-attr_size": "", "variants-0-attr_new": "",
                                         "variants-0-attr_colour": "Navy"})
    variant.refresh_from_db()
    assert variant.attributes == {"colour": "Navy"}  # an emptied field drops the attribute


def test_admin_refuses_a_negative_price(catalog_editor_client):
    category = Category.objects.create(name="Packs", slug="packs")
    form = {
        "name": "Bad", "slug": "bad", "category": category.pk, "is_active": "on",
        "variants-TOTAL_FORMS": "1", "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "BAD-1", "variants-0-name": "x",
        "variants-0-price": "-1", "variants-0-currency": "USD", "variants-0-position": "0",
        "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
    }
    response = catalog_editor_client.post("/admin/catalog/product/add/", form)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not Product.objects.filter(slug="bad").exists()
