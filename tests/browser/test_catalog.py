"""The catalogue's two pieces of JavaScript in a real browser against a live server: the product page's variant
picker (price and availability follow the chosen variant, and that variant is the one bought) and the search
box's suggestions (typed, chosen, searched)."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_picking_a_variant_shows_its_price_and_stock_and_puts_that_variant_in_the_cart(page, live_server):
    jacket = make_product(name="Summit Down Jacket", variants=3, prices=["180.00", "195.00", "210.00"],
                          stock=[12, 3, 0])
    page.goto(live_server.url + f"/p/{jacket.slug}/")
    price, availability = page.locator("p[data-price]"), page.locator("p[data-availability]")
    roomy, scarce, gone = (page.get_by_role("radio", name=f"Option {i}") for i in range(3))
    expect(roomy).to_be_checked()
    expect(price).to_have_text("$180.00")
    expect(availability).to_have_text("In stock")
    expect(gone).to_be_disabled()

    scarce.check()
    expect(price).to_have_text("$195.00")
    expect(availability).to_have_text("Only 3 left")
    roomy.check()
    expect(price).to_have_text("$180.00")
    expect(availability).to_have_text("In stock")
    scarce.check()

    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 2 × Summit Down Jacket")).to_be_visible()
    row = page.get_by_role("row", name="Summit Down Jacket")
    expect(row).to_contain_text(f"SKU {jacket.variants[1].sku}")
    expect(row.get_by_role("cell", name="$390.00")).to_be_visible()


def test_a_shopper_types_in_search_chooses_a_suggestion_and_lands_on_the_product(page, live_server):
    make_product(name="Granite Trail Runner", price="129.00")
    make_product(name="Granite Peak Tent", price="349.00")
    make_product(name="Cedar Camp Mug", price="14.00")
    page.goto(live_server.url + "/")
    search = page.get_by_label("Search products")
    with page.expect_response(lambda r: "/api/v1/suggest/?q=granite" in r.url and r.ok):
        search.press_sequentially("granite")
    suggestions = page.locator("#search-suggestions option")
    expect(suggestions).to_have_count(2)
    expect(suggestions.and_(page.locator('[value="Granite Peak Tent"]'))).to_have_count(1)
    runner = suggestions.and_(page.locator('[value="Granite Trail Runner"]'))
    expect(runner).to_have_count(1)
    # The list is a <datalist>, whose drop-down is the browser's own, outside the page: choosing an entry puts its
    # value in the box, which is what this does, with the value the page offered.
    search.fill(runner.get_attribute("value"))
    search.press("Enter")
    expect(page.get_by_role("heading", name="Results for “Granite Trail Runner”")).to_be_visible()
    results = page.get_by_role("main").get_by_role("link", name="Granite")
    expect(results).to_have_count(1)
    results.click()
    expect(page.get_by_role("heading", name="Granite Trail Runner", level=1)).to_be_visible()
    expect(page.locator("p[data-price]")).to_have_text("$129.00")
