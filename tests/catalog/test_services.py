from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Product, Variant
from catalog.sample_data import sample_products
from inventory import services as inventory_services
from store.core.exceptions import InvalidInput
from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_import_creates_variants_stock_rows_and_derived_fields():
    spec = make_product(prices=["30.00", "25.50"], stock=[0, 4])
    product = Product.objects.get(slug=spec.slug)
    assert product.price_from == Decimal("25.50")
    assert product.in_stock is True
    assert inventory_services.stock_availability(skus=[v.sku for v in spec.variants]) == {
        spec.variants[0].sku: 0, spec.variants[1].sku: 4}
    assert inventory_services.stock_invariant_violations() == []


def test_a_product_whose_variants_are_all_sold_out_is_not_in_stock():
    spec = make_product(stock=[0, 0])
    assert Product.objects.get(slug=spec.slug).in_stock is False


def test_seeding_twice_adds_nothing_the_second_time():
    specs = list(sample_products(count=12, seed=7, with_images=False))
    assert services.catalog_import(products=specs) == 12
    counts = (Product.objects.count(), Variant.objects.count())
    assert services.catalog_import(products=list(sample_products(count=12, seed=7, with_images=False))) == 0
    assert (Product.objects.count(), Variant.objects.count()) == counts
    assert services.catalog_import(products=list(sample_products(count=15, seed=7, with_images=False))) == 3


def test_sample_catalogue_is_deterministic_and_realistic():
    first = list(sample_products(count=30, seed=3, with_images=False))
    again = list(sample_products(count=30, seed=3, with_images=False))
    assert first == again
    assert len({p.category_path[0][0] for p in first}) >= 5
    assert all(v.price > 0 for p in first for v in p.variants)
    assert any(len(p.variants) > 1 for p in first)
    assert any(v.on_hand == 0 for p in first for v in p.variants)


def test_sample_names_read_like_products():
    """Brand, a material its subcategory's nouns are made of, then the noun: no "Enamel Wool Blanket"."""
    from catalog.sample_data import CATEGORIES

    materials = {sub[0]: sub[3] for top in CATEGORIES for sub in top[2]}
    for spec in sample_products(count=500, seed=1, with_images=False):
        words = spec.name.split()
        assert len(words) == len(set(words)), spec.name
        sub = spec.category_path[1][0]
        assert any(spec.name.split(" ", 1)[1].startswith(m + " ") for m in materials[sub]), spec.name


def test_stock_change_flips_in_stock_through_the_event(on_commit):
    spec = make_product(stock=1)
    with on_commit():
        inventory_services.stock_adjust(sku=spec.variants[0].sku, delta=-1, reason="damaged")
    assert Product.objects.get(slug=spec.slug).in_stock is False


def test_variant_prices_reads_current_name_and_price():
    spec = make_product(name="Roll-Top Pack", price="89.00")
    info = services.variant_prices(skus=[spec.variants[0].sku, "NOPE"])
    assert list(info) == [spec.variants[0].sku]
    assert info[spec.variants[0].sku].price == Decimal("89.00")
    assert info[spec.variants[0].sku].product_name == "Roll-Top Pack"


@pytest.mark.parametrize("params", [
    {"min_price": "-1"}, {"max_price": "abc"}, {"min_price": "NaN"}, {"min_price": "1e400"},
    {"sort": "evil"}, {"in_stock": "maybe"},
])
def test_bad_filters_are_refused_with_a_clear_error(params):
    with pytest.raises(InvalidInput):
        services.product_filters_parse(params)


def test_filters_parse_normalises_good_input():
    filters = services.product_filters_parse({"q": "  red   shirt ", "min_price": "10", "in_stock": "true",
                                              "sort": "-price"})
    assert (filters.q, filters.min_price, filters.in_stock, filters.sort) == ("red shirt", Decimal("10.00"),
                                                                             True, "-price")
