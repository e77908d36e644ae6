"""Storefront details (issue 23): sizes in a shopper's order, listing filters keeping each other, "from" only where
prices differ, and many variants as one compact list on the product page."""

import re
from decimal import Decimal
from html import unescape

import pytest

from catalog import services
from catalog.selectors import natural_key
from catalog.types import ProductSpec, VariantSpec

pytestmark = pytest.mark.django_db
SHOES = (("shoes", "Shoes"),)


def shoe(n: int, sizes: list[str], colour: str, prices: list[str] | None = None) -> ProductSpec:
    spec = ProductSpec(slug=f"shoe-{n}", name=f"Shoe {n}", description="Shoe.", category_path=SHOES,
                       variants=tuple(VariantSpec(sku=f"SH{n}-{size}", name=f"{size} / {colour}",
                                                  attributes={"size": size, "colour": colour},
                                                  price=Decimal((prices or ["50.00"] * len(sizes))[i]), on_hand=3)
                                      for i, size in enumerate(sizes)))
    services.catalog_import(products=[spec])
    return spec


def test_natural_order_of_values():
    assert sorted(["12", "7", "10", "8", "9.5"], key=natural_key) == ["7", "8", "9.5", "10", "12"]
    assert sorted(["XL", "S", "M", "l", "XS"], key=natural_key) == ["XS", "S", "M", "l", "XL"]
    assert sorted(["Rust", "Black", "40 l", "30 l"], key=natural_key) == ["30 l", "40 l", "Black", "Rust"]


def test_size_filters_are_listed_in_natural_order(client):
    shoe(1, ["12", "7", "10", "8", "11", "9"], "Black")
    html = client.get("/c/shoes/").content.decode()
    sizes = re.findall(r'attr_size=(\d+)"', html)
    assert sizes == ["7", "8", "9", "10", "11", "12"], sizes


def test_a_chosen_colour_is_kept_by_the_sort_form_and_each_clear_drops_only_its_own(client):
    shoe(1, ["7", "8"], "Black")
    shoe(2, ["8", "9"], "Navy")
    html = client.get("/c/shoes/", {"attr_colour": "Navy", "attr_size": "8", "in_stock": "true"}).content.decode()
    form = html.split('<aside class="filters"')[1].split("</form>")[0]
    assert '<input type="hidden" name="attr_colour" value="Navy">' in form
    assert '<input type="hidden" name="attr_size" value="8">' in form
    clears = {unescape(m[1]): unescape(m[0]) for m in re.findall(r'<a href="([^"]+)" aria-label="Clear ([^"]+)"',
                                                                  html)}
    assert clears["colour: Navy"] == "?in_stock=true&attr_size=8"
    assert clears["size: 8"] == "?in_stock=true&attr_colour=Navy"
    # choosing another size swaps it and keeps the colour (one attr_size, not two)
    links = [unescape(u) for u in re.findall(r'href="(\?[^"]*attr_size=9[^"]*)"', html)]
    assert links == ["?in_stock=true&attr_colour=Navy&attr_size=9"], links


def test_from_is_shown_only_where_variants_differ_in_price(client):
    shoe(1, ["7", "8"], "Black")
    shoe(2, ["7", "8"], "Navy", prices=["40.00", "45.00"])
    html = client.get("/c/shoes/").content.decode()
    cards = {name: card for card in html.split('<li class="card">')[1:]
             for name in re.findall(r'card-title">([^<]+)<', card)}
    assert "from" not in cards["Shoe 1"].split("card-price")[1]
    assert '<span class="from">from</span>' in cards["Shoe 2"]


def test_many_variants_are_one_compact_list_with_the_price_of_the_chosen(client):
    shoe(1, ["7", "8", "9", "10", "11", "12", "13"], "Black", prices=["50.00"] * 6 + ["55.00"])
    html = client.get("/p/shoe-1/").content.decode()
    assert '<select id="variant" name="sku"' in html and 'type="radio" name="sku"' not in html
    assert '<label for="variant">Choose size / colour</label>' in html
    shoe(2, ["7", "8"], "Navy")
    assert 'type="radio" name="sku"' in client.get("/p/shoe-2/").content.decode()
