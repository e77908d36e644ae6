"""The shop on a phone (390 × 844, as an iPhone 12–15 shows it) in a real browser against a live server: "Add to
cart" is in view without scrolling on a product page with a picture, with few variants and with many, and no page a
shopper meets is wider than the screen. Each page is saved as a screenshot (SCREENSHOT_DIR, else a directory in the
system's temp directory) for a reviewer to look at."""

import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from PIL import Image
from playwright.sync_api import expect

from catalog import services as catalog_services
from catalog.types import ProductSpec, VariantSpec
from tests.browser.conftest import PHONE, screenshot_dir
from tests.browser.test_journey import fill_checkout

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": PHONE, "device_scale_factor": 1, "is_mobile": True,
            "has_touch": True}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    return screenshot_dir("phone")


def _photo() -> bytes:
    """A square JPEG, as a shop's product photos are."""
    out = io.BytesIO()
    Image.new("RGB", (800, 800), (90, 120, 110)).save(out, "JPEG")
    return out.getvalue()


def product(slug: str, name: str, *, sizes: list[str], category=(("footwear", "Footwear"),
                                                                 ("trail-running-shoes", "Trail Running Shoes"))):
    spec = ProductSpec(
        slug=slug, name=name, category_path=category, image_jpeg=_photo(),
        description="Light, grippy and quick to dry. " * 12,
        variants=tuple(VariantSpec(sku=f"{slug.upper()}-{size}", name=f"Size {size}", attributes={"size": size},
                                   price=Decimal("129.00") + i, on_hand=5 if i else 2)
                       for i, size in enumerate(sizes)))
    catalog_services.catalog_import(products=[spec])
    return spec


@pytest.fixture
def shop():
    """A few categories with long names (the menu must not be cut off), a product with three sizes, one with
    nine."""
    for slug, name in [("camping-and-hiking", "Camping and Hiking"), ("climbing-gear", "Climbing Gear"),
                       ("kitchen-and-home", "Kitchen and Home"), ("winter-clothing", "Winter Clothing")]:
        product(f"{slug}-thing", f"{name} Thing", sizes=["M"], category=((slug, name),))
    few = product("granite-trail-runner", "Granite Trail Runner", sizes=["8", "9", "10"])
    many = product("ridge-runner-gtx", "Ridge Runner GTX Waterproof Trail Shoe",
                   sizes=["7", "7.5", "8", "8.5", "9", "9.5", "10", "11", "12"])
    return few, many


def fits_the_screen(page, name: str, screenshots: Path) -> None:
    """The page is no wider than the phone (nothing scrolls sideways); saved as a full-page screenshot."""
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    too_wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.getClientRects().length
                     && !e.closest('.category-nav ul, .visually-hidden'))
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width <= PHONE["width"], f"{name} is {width} px wide on a {PHONE['width']} px phone: {too_wide}"


def add_to_cart_in_view(page) -> None:
    button = page.get_by_role("button", name="Add to cart")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], f"Add to cart at {box}: below the fold"


def test_add_to_cart_is_in_view_without_scrolling_with_few_and_with_many_variants(page, live_server, shop,
                                                                                   screenshots):
    few, many = shop
    page.goto(live_server.url + f"/p/{few.slug}/")
    expect(page.get_by_role("radio", name="Size 10")).to_be_visible()
    expect(page.locator("p[data-price]")).to_be_in_viewport()
    add_to_cart_in_view(page)
    page.screenshot(path=str(screenshots / "product-few-variants-fold.png"))
    fits_the_screen(page, "product-few-variants", screenshots)

    page.goto(live_server.url + f"/p/{many.slug}/")
    expect(page.get_by_label("Choose size")).to_be_in_viewport()
    expect(page.locator("p[data-price]")).to_be_in_viewport()
    add_to_cart_in_view(page)
    page.screenshot(path=str(screenshots / "product-many-variants-fold.png"))
    fits_the_screen(page, "product-many-variants", screenshots)


def test_the_listing_shows_products_first_with_its_filters_behind_a_button(page, live_server, shop, screenshots):
    page.goto(live_server.url + "/c/footwear/")
    first_card = page.get_by_role("link", name=re.compile("Trail Runner")).first
    expect(first_card).to_be_in_viewport()
    expect(page.get_by_label("Sort by")).to_be_hidden()
    page.screenshot(path=str(screenshots / "category-fold.png"))
    page.get_by_text("Sort and filter").click()
    page.get_by_label("Sort by").select_option("-price")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"sort=-price"))
    fits_the_screen(page, "category-filters-applied", screenshots)


def test_no_page_a_shopper_meets_is_wider_than_the_phone(page, live_server, shop, screenshots):
    few, many = shop
    get_user_model().objects.create_user("ada", "ada@example.com", PASSWORD)
    page.goto(live_server.url + "/")
    menu = page.get_by_role("navigation", name="Categories")
    last = menu.get_by_role("link", name="Winter Clothing")  # past the screen's edge: the menu scrolls to it
    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    fits_the_screen(page, "home", screenshots)
    page.goto(live_server.url + "/c/footwear/")
    fits_the_screen(page, "category", screenshots)
    page.goto(live_server.url + "/search/?q=runner")
    expect(page.get_by_role("heading", name=re.compile("Results for"))).to_be_visible()
    fits_the_screen(page, "search", screenshots)
    page.goto(live_server.url + f"/p/{many.slug}/reviews/")
    fits_the_screen(page, "reviews", screenshots)
    page.goto(live_server.url + "/account/signup/")
    fits_the_screen(page, "signup", screenshots)

    page.goto(live_server.url + f"/p/{few.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(live_server.url + "/cart/")
    fits_the_screen(page, "cart", screenshots)
    page.get_by_role("link", name="Check out").click()
    summary, pay = page.get_by_role("complementary", name="Order summary"), page.get_by_role("button", name="Pay")
    assert summary.bounding_box()["y"] < pay.bounding_box()["y"], "the order summary comes after the Pay button"
    fits_the_screen(page, "checkout", screenshots)
    fill_checkout(page, "4242 4242 4242 4242")
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    fits_the_screen(page, "order", screenshots)

    page.get_by_role("link", name="Log in").click()
    fits_the_screen(page, "login", screenshots)
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/account/")
    expect(page.get_by_text("Hi, ada")).to_be_visible()
    fits_the_screen(page, "account", screenshots)
    for name in ("addresses", "email", "password"):  # the address book's country list was 408 px wide
        page.goto(live_server.url + f"/account/{name}/")
        fits_the_screen(page, f"account-{name}", screenshots)
