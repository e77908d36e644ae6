"""A return in a real browser (Debian's Chromium driven by Playwright) against a live server: buy, ask to return an
item from the order page, see its status there, see it change once staff approve it, and once refunded, the order
say how much was refunded and when, with no return form left."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import OrderRefund
from returns import services
from returns.models import Return
from tests.browser.test_journey import fill_checkout
from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shopper_buys_asks_to_return_an_item_and_follows_its_status(page, live_server):
    shop = make_product(name="Alder Camp Mug", price="18.00", stock=5)
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    fill_checkout(page, "4242 4242 4242 4242")
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.get_by_text("Your payment was received")).to_be_visible()

    page.get_by_label("Alder Camp Mug").fill("1")
    page.get_by_label("Reason").select_option("damaged")
    page.get_by_label("Anything we should know?").fill("The handle came off.")
    page.get_by_role("button", name="Request the return").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    ret = Return.objects.get()
    expect(page.get_by_text(f"Return {ret.number} requested.")).to_be_visible()
    expect(page.locator(f".return-{ret.status} .return-status")).to_have_text("Requested")

    services.return_approve(number=ret.number)
    page.reload()
    expect(page.locator(".return-approved .return-status")).to_have_text("Approved")
    expect(page.get_by_text(f"send the items back with {ret.number} on the parcel")).to_be_visible()

    services.return_receive(number=ret.number)
    services.return_refund(number=ret.number)
    page.reload()
    at = OrderRefund.objects.get().at  # the one unit was the whole order: refunded in full
    expect(page.locator(".order-status")).to_have_text(
        re.compile(rf"This order was refunded in full, \$18\.00\s+on {at.day} {at:%B %Y}\."))
    expect(page.locator(".return-refunded .return-status")).to_have_text("Refunded")
    expect(page.get_by_text("Return items")).to_have_count(0)
