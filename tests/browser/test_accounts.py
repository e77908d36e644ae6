"""Accounts in a real browser against a live server: a shopper signs up (confirming by the e-mailed link), fills a
cart, comes back as a guest and fills another, and logging in folds the guest's cart into the account's."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-staple"


def add_to_cart(page, live_server, product):
    page.goto(live_server.url + f"/p/{product.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text(f"Added 1 × {product.name}")).to_be_visible()


def test_signing_up_then_logging_in_merges_the_guest_cart_into_the_accounts(page, live_server):
    tent = make_product(name="Granite Peak Tent", price="349.00")
    mug = make_product(name="Cedar Camp Mug", price="14.00")
    badge = page.locator("[data-cart-count]")

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Log in").click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    link = re.search(r"https?://\S+/account/\S+", mail.outbox[-1].body).group(0)  # the confirmation e-mail
    page.goto(live_server.url + link[link.index("/account/"):])
    page.get_by_role("button", name="Confirm and log in").click()
    expect(page).to_have_url(live_server.url + "/account/")
    expect(page.get_by_text("Welcome, ada! Your account is ready.")).to_be_visible()
    expect(page.get_by_text("Hi, ada")).to_be_visible()

    add_to_cart(page, live_server, tent)  # the account's own cart
    expect(badge).to_have_text("1")
    page.get_by_role("link", name="Account").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(badge).to_have_text("0")

    add_to_cart(page, live_server, mug)  # a guest now, with a cart of their own
    expect(badge).to_have_text("1")
    expect(page.get_by_role("row", name="Granite Peak Tent")).to_have_count(0)

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url + "/cart/")  # back where "Log in" was pressed
    expect(page.get_by_text("We added 1 item from your earlier visit to your cart.")).to_be_visible()
    expect(badge).to_have_text("2")
    expect(page.get_by_role("row", name="Granite Peak Tent")).to_contain_text("$349.00")
    expect(page.get_by_role("row", name="Cedar Camp Mug")).to_contain_text("$14.00")
    expect(page.get_by_role("row", name="Subtotal")).to_contain_text("$363.00")
