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


def test_asking_for_more_than_there_are_keeps_the_variant_chosen_and_names_it(page, live_server):
    jacket = make_product(name="Summit Down Jacket", variants=3, prices=["180.00", "195.00", "210.00"],
                          stock=[12, 3, 0])
    page.goto(live_server.url + f"/p/{jacket.slug}/")
    page.get_by_role("radio", name="Option 1").check()
    page.get_by_label("Quantity").fill("5")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("alert")).to_have_text("Only 3 of Summit Down Jacket — Option 1 available.")
    expect(page).to_have_url(live_server.url + f"/p/{jacket.slug}/")  # the choice is kept, not in the address
    expect(page.get_by_role("radio", name="Option 1")).to_be_checked()
    expect(page.locator("p[data-price]")).to_have_text("$195.00")


def test_after_back_the_price_is_the_chosen_variants(page, live_server):
    """The browser brings the chosen radio back on Back, but not the text the script had set: the price shown must
    be read again from the choice (it showed the first variant's, beside the second one chosen)."""
    jacket = make_product(name="Ridge Shell", variants=2, prices=["100.00", "150.00"], stock=[5, 5])
    page.goto(live_server.url + f"/p/{jacket.slug}/")
    page.evaluate("window.addEventListener('unload', () => {})")  # keeps the page out of the back/forward cache
    page.get_by_role("radio", name="Option 1").check()
    expect(page.locator("p[data-price]")).to_have_text("$150.00")
    page.goto(live_server.url + "/")
    page.go_back()
    expect(page.get_by_role("radio", name="Option 1")).to_be_checked()
    expect(page.locator("p[data-price]")).to_have_text("$150.00")


def test_a_product_with_many_variants_offers_them_as_one_list(page, live_server):
    shirt = make_product(name="Camp Shirt", variants=8, prices=[f"{30 + i}.00" for i in range(8)], stock=[0] + [4] * 7)
    page.goto(live_server.url + f"/p/{shirt.slug}/")
    picker = page.get_by_label("Choose size")
    expect(picker).to_have_value(shirt.variants[1].sku)  # the first that can be bought
    expect(page.locator("p[data-price]")).to_have_text("$31.00")
    picker.select_option(shirt.variants[5].sku)
    expect(page.locator("p[data-price]")).to_have_text("$35.00")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("row", name="Camp Shirt")).to_contain_text(f"SKU {shirt.variants[5].sku}")


def test_a_shopper_types_in_search_chooses_a_suggestion_and_lands_on_the_product(page, live_server):
    make_product(name="Granite Trail Runner", price="129.00")
    make_product(name="Granite Peak Tent", price="349.00")
    make_product(name="Cedar Camp Mug", price="14.00")
    page.goto(live_server.url + "/")
    search = page.get_by_label("Search products")
    with page.expect_response(lambda r: "/api/v1/suggest/?q=granite" in r.url and r.ok):
        search.press_sequentially("granite")
    suggestions = page.get_by_role("listbox", name="Suggested products").get_by_role("option")
    expect(suggestions).to_have_count(2)
    expect(suggestions.filter(has_text="Granite Peak Tent")).to_have_count(1)
    # each suggestion opens its product: by the keyboard (arrows, Enter) as well as by a click
    names = suggestions.all_inner_texts()
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "suggestion-0")
    search.press("Enter")
    expect(page.get_by_role("heading", name=names[0], level=1)).to_be_visible()
    page.go_back()
    search = page.get_by_label("Search products")
    search.fill("")
    with page.expect_response(lambda r: "/api/v1/suggest/?q=granite" in r.url and r.ok):
        search.press_sequentially("granite")
    page.get_by_role("option", name="Granite Trail Runner").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Granite Trail Runner", level=1)).to_be_visible()
    expect(page.locator("p[data-price]")).to_have_text("$129.00")
