"""Staff screens in a real browser on a 1280 px wide screen (issue 23): the order page, the order list, the stock
levels, the ledger, the reservations and a product with a dozen variants each fit the screen (nothing scrolls
sideways). Each is saved as a screenshot (SCREENSHOT_DIR, else a directory in the system's temp directory)."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from catalog import services as catalog_services
from catalog.types import ProductSpec, VariantSpec
from inventory import services as inventory_services
from orders.models import Order
from tests.browser.conftest import DESKTOP, screenshot_dir
from tests.conftest import CATALOG_EDITING, staff_role
from tests.orders.helpers import body, checkout

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": DESKTOP, "device_scale_factor": 1}


@pytest.fixture(scope="session")
def screenshots() -> Path:
    return screenshot_dir("staff")


@pytest.fixture
def shop(client):
    """A pair of shorts in four sizes and three colours, and a paid order for one of them."""
    from cart import services as cart_services

    spec = ProductSpec(
        slug="pine-stretch-cargo-short", name="Pine Stretch Cotton Cargo Short",
        category_path=(("clothing", "Clothing"), ("trousers", "Trousers")), description="Shorts.",
        variants=tuple(VariantSpec(sku=f"TRO-PINE-{size}-{colour.upper()}", name=f"{size} / {colour}",
                                   attributes={"size": size, "colour": colour}, price=Decimal("42.95"), on_hand=20)
                       for size in ("S", "M", "L", "XL") for colour in ("Sky", "Black", "Rust")))
    catalog_services.catalog_import(products=[spec])
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku="TRO-PINE-M-RUST", quantity=2)
    number = checkout(client, body(token)).json()["number"]
    return spec, Order.objects.get(number=number)


def staff(page, live_server, username: str):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD, is_staff=True,
                                                first_name=username.title(), last_name="Staff")
    user.groups.add(staff_role("Manager"))
    from django.contrib.auth.models import Permission
    for dotted in CATALOG_EDITING:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Site administration")).to_be_visible()
    return user


def fits_1280(page, name: str, screenshots: Path) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    too_wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.getClientRects().length)
        .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert width <= DESKTOP["width"], f"{name} is {width} px wide on a {DESKTOP['width']} px screen: {too_wide}"


def test_staff_screens_fit_a_1280_px_screen(page, live_server, shop, screenshots):
    spec, order = shop
    user = staff(page, live_server, "mia")
    inventory_services.stock_receive(sku="TRO-PINE-S-SKY", quantity=4, reason="Delivery 118", user_id=user.pk)
    fits_1280(page, "index", screenshots)

    page.goto(live_server.url + "/admin/orders/order/?q=cargo+short")
    expect(page.get_by_role("link", name=order.number)).to_be_visible()
    fits_1280(page, "orders", screenshots)
    page.get_by_role("link", name=order.number).click()
    expect(page.get_by_text("Refund (full or partial)")).to_be_visible()
    fits_1280(page, "order", screenshots)

    page.goto(live_server.url + "/admin/inventory/stocklevel/?q=cargo+short")
    expect(page.get_by_text("Pine Stretch Cotton Cargo Short — M / Rust")).to_be_visible()
    fits_1280(page, "stock-levels", screenshots)
    page.goto(live_server.url + "/admin/inventory/stockmovement/")
    expect(page.get_by_text("Mia Staff")).to_be_visible()
    fits_1280(page, "ledger", screenshots)
    page.goto(live_server.url + "/admin/inventory/reservation/")
    expect(page.locator("td.field-state", has_text="Committed")).to_be_visible()
    fits_1280(page, "reservations", screenshots)

    page.goto(live_server.url + "/admin/catalog/product/?q=cargo+short")
    page.get_by_role("link", name=spec.name).click()
    rows = page.locator("tr.form-row:not(.empty-form)")  # (the empty form is the template 'Add another' copies)
    expect(rows.locator("input[name$='-attr_colour']")).to_have_count(13)  # 12 variants and an empty row
    fits_1280(page, "product", screenshots)
