"""The cart page in a real browser against a live server: its plain forms (no JavaScript) change a line's
quantity and remove lines, and the totals and the header's badge follow."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shopper_updates_a_lines_quantity_and_removes_lines_on_the_cart_page(page, live_server):
    tent = make_product(name="Granite Peak Tent", price="349.00", stock=4)
    mug = make_product(name="Cedar Camp Mug", price="14.00", stock=20)
    for product in (tent, mug):
        page.goto(live_server.url + f"/p/{product.slug}/")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_text(f"Added 1 × {product.name}")).to_be_visible()
    tent_row, mug_row = (page.get_by_role("row", name=name) for name in ("Granite Peak Tent", "Cedar Camp Mug"))
    tents = tent_row.get_by_label("Quantity of Granite Peak Tent")
    subtotal, badge = page.get_by_role("row", name="Subtotal"), page.locator("[data-cart-count]")
    expect(subtotal).to_contain_text("$363.00")
    expect(badge).to_have_text("2")

    tents.fill("3")
    tent_row.get_by_role("button", name="Update").click()
    expect(tents).to_have_value("3")
    expect(page.get_by_text("Updated: 3 × Granite Peak Tent — Option 0 in your cart.")).to_be_visible()
    expect(tent_row).to_contain_text("$1,047.00")
    expect(subtotal).to_contain_text("$1,061.00")

    tents.fill("9")  # more than there are: refused, saying how many there are
    tent_row.get_by_role("button", name="Update").click()
    expect(page.get_by_text("Only 4 of Granite Peak Tent — Option 0 available.")).to_be_visible()
    expect(tents).to_have_value("3")
    expect(subtotal).to_contain_text("$1,061.00")

    mug_row.get_by_role("button", name="Remove Cedar Camp Mug").click()
    expect(mug_row).to_have_count(0)
    expect(page.get_by_text("Removed Cedar Camp Mug — Option 0 from your cart.")).to_be_visible()
    expect(subtotal).to_contain_text("$1,047.00")
    expect(badge).to_have_text("3")  # units: three tents

    tents.fill("0")  # a quantity of nothing removes the line
    tent_row.get_by_role("button", name="Update").click()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()
    expect(badge).to_have_text("0")
