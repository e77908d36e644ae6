"""The shop on a 1280 px desktop screen in a real browser against a live server, the walk of issue 23 as a shopper
takes it: a listing narrowed by size keeps it when sorted, a product asked for in more units than are left keeps the
size chosen, the cart shows pictures and confirms changes, the badge counts units, checkout, the order, log-in by
e-mail back to the page it came from, the account page. No page is wider than the screen; each is saved as a
screenshot (SCREENSHOT_DIR, else a directory in the system's temp directory) for a reviewer to look at."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, screenshot_dir
from tests.browser.test_journey import fill_checkout
from tests.browser.test_phone import shop  # noqa: F401 (the same sample shop as the phone's walk)

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP, "device_scale_factor": 1}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    return screenshot_dir("desktop")


def fits(page, name: str, screenshots: Path) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= DESKTOP["width"], f"{name} is {width} px wide on a {DESKTOP['width']} px screen"


def test_a_shoppers_walk_on_a_desktop_screen(page, live_server, shop, screenshots):  # noqa: F811
    few, many = shop
    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    badge = page.locator("[data-cart-count]")
    page.goto(live_server.url + "/")
    fits(page, "home", screenshots)

    page.goto(live_server.url + "/c/footwear/")
    page.get_by_role("link", name="9", exact=True).click()
    expect(page).to_have_url(re.compile(r"attr_size=9"))
    page.get_by_label("Sort by").select_option("-price")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"attr_size=9.*sort=-price|sort=-price.*attr_size=9"))  # the size kept
    expect(page.get_by_role("link", name=re.compile("Clear size: 9"))).to_be_visible()
    fits(page, "category-size-and-sort", screenshots)

    page.goto(live_server.url + f"/p/{many.slug}/")
    page.get_by_label("Choose size").select_option(f"{many.slug.upper()}-7")
    page.get_by_label("Quantity").fill("3")  # size 7 has 2
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text(f"Only 2 of {many.name} — Size 7 available.")).to_be_visible()
    expect(page.get_by_label("Choose size")).to_have_value(f"{many.slug.upper()}-7")  # the choice kept
    fits(page, "product-too-few-left", screenshots)

    page.goto(live_server.url + f"/p/{few.slug}/")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(live_server.url + "/cart/")
    expect(badge).to_have_text("2")  # units, not lines
    expect(page.get_by_role("link", name="Cart, items: 2")).to_be_visible()
    expect(page.locator("main table img").first).to_be_visible()
    page.get_by_label(re.compile("Quantity")).first.fill("1")
    page.get_by_role("button", name="Update").first.click()
    expect(page.get_by_text(re.compile(r"Updated: 1 × Granite Trail Runner"))).to_be_visible()
    fits(page, "cart", screenshots)

    page.get_by_role("link", name="Check out").click()
    fits(page, "checkout", screenshots)
    fill_checkout(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    fits(page, "order", screenshots)

    page.goto(live_server.url + f"/p/{few.slug}/")
    page.get_by_role("link", name="Log in").click()
    fits(page, "login", screenshots)
    page.get_by_label("Username").fill("ada@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + f"/p/{few.slug}/")  # back where the shopper was
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(live_server.url + "/account/")
    expect(page.get_by_role("link", name="Change your e-mail address")).to_be_visible()
    expect(page.get_by_role("link", name="Change your password")).to_be_visible()
    fits(page, "account", screenshots)
