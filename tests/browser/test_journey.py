"""The whole journey in a real browser (Debian's Chromium driven by Playwright) against a live server:
search -> product -> add to cart -> checkout -> confirmation -> order page; a declined card; paying on Stripe's
hosted page."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import make_product
from tests.payments.fake_stripe import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop():
    return make_product(name="Granite Trail Runner", price="129.00", stock=3,
                        category=(("footwear", "Footwear"), ("running", "Running Shoes")))


def fill_address(page):
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address").fill("1 Analytical Way")
    page.get_by_label("City").fill("London")
    page.get_by_label("Postal code").fill("N1 7AA")
    page.get_by_label("Country").select_option("GB")  # (a list of countries)


def fill_checkout(page, card):
    fill_address(page)
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Pay").click()


def test_a_shopper_finds_buys_and_sees_their_order(page, live_server, shop):
    page.goto(live_server.url + "/")
    page.get_by_label("Search products").fill("Granite")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Granite Trail Runner").first.click()
    expect(page.get_by_role("heading", name="Granite Trail Runner")).to_be_visible()
    page.get_by_role("button", name="Add to cart").click()
    expect(page).to_have_url(live_server.url + "/cart/")
    expect(page.get_by_text("Added 1 × Granite Trail Runner")).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    fill_checkout(page, "4242 4242 4242 4242")
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    number = Order.objects.get().number
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    expect(page.locator("[data-cart-count]")).to_have_text("0")


def test_a_declined_card_is_explained_and_nothing_is_sold(page, live_server, shop):
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    fill_checkout(page, "4000 0000 0000 0002")
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    assert Order.objects.get().status == "cancelled"
    fill_checkout(page, "4242 4242 4242 4242")  # the shopper tries another card: a new checkout, not a replay
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    assert Order.objects.filter(status="paid").count() == 1


def test_a_shopper_pays_on_stripes_page_and_comes_back_to_a_paid_order(page, live_server, shop, stripe_api):
    """With Stripe configured the page has no card field: the shopper pays on Stripe's hosted page (the local
    fake's), whose webhook and redirect both reach the shop; the order is paid once."""
    stripe_api.webhook_url = live_server.url + "/payments/stripe/webhook/"
    stripe_api.webhook_secret = WEBHOOK_SECRET
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Card number")).to_have_count(0)
    fill_address(page)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(re.escape(stripe_api.url) + "/pay/"))
    expect(page.get_by_role("heading", name="Pay 12900 USD")).to_be_visible()
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    number = Order.objects.get().number
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    expect(page.locator("[data-cart-count]")).to_have_text("0")
    assert [s for s, _ in Order.objects.get().events.values_list("status", "at")] == ["pending_payment", "paid"]


def test_a_checkout_that_waits_in_line_lands_on_the_paid_order_once_its_turn_comes(page, live_server, shop,
                                                                                    settings):
    """Past CHECKOUT_QUEUE_AFTER checkouts in flight (0 here: every one) the shopper waits on "you're in line",
    which reloads itself; no Celery worker runs in the tests, so the line's job is run here once the page shows."""
    from orders.checkout import checkout_run_queued

    settings.CHECKOUT_QUEUE_AFTER = 0
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    fill_checkout(page, "4242 4242 4242 4242")
    line_url = re.compile(re.escape(live_server.url) + r"/checkout/line/([\w-]+)/$")
    expect(page).to_have_url(line_url)
    expect(page.get_by_role("heading", name="You're in line")).to_be_visible()
    expect(page.get_by_text("You are number 1;")).to_be_visible()
    assert not Order.objects.exists()  # nothing is placed while it waits

    assert checkout_run_queued(ticket=line_url.match(page.url).group(1)) == 201
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))  # by the line page's own reload
    number = Order.objects.get().number
    expect(page.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(page.get_by_text("Your payment was received")).to_be_visible()
    expect(page.locator("[data-cart-count]")).to_have_text("0")
    assert Order.objects.get().status == "paid"


def test_a_shopper_picks_a_shipping_method_enters_a_code_and_pays_the_total_the_page_showed(page, live_server, shop):
    """Issue 22 end to end: express shipping, 20% VAT for a British address, 10% off with a code; the page's total
    is what the order records and the gateway is asked for."""
    from decimal import Decimal

    from orders import services as order_services
    from payments.models import Payment
    from shipping import services as shipping_services
    from shipping.models import TaxRate

    shipping_services.shipping_seed_defaults()
    TaxRate.objects.create(country="GB", name="VAT", rate=Decimal("20"))
    shipping_services.shipping_invalidate()
    order_services.promo_code_create(code="WELCOME10", percent=Decimal("10"))
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_role("link", name="Check out").click()
    fill_address(page)
    page.get_by_label(re.compile(r"Express · 14\.95")).check()
    page.get_by_label("Promo code").fill("welcome10")
    page.get_by_role("button", name="Update totals").click()
    # 129.00 - 12.90 = 116.10; express 14.95; VAT 23.22 + 2.99 = 26.21; total 157.26
    expect(page.get_by_text("Discount (WELCOME10)")).to_be_visible()
    expect(page.get_by_role("button", name="Pay $157.26")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.get_by_text("$157.26")).to_be_visible()
    order = Order.objects.get()
    assert (order.shipping_method, order.discount, order.tax, order.total) == \
        ("express", Decimal("12.90"), Decimal("26.21"), Decimal("157.26"))
    assert Payment.objects.get().amount == Decimal("157.26")


def test_a_code_entered_in_the_cart_is_shown_there_and_carried_to_the_checkout_and_the_order(page, live_server, shop):
    """Issue 22: the shopper enters the code in the cart, sees the discount and the total there, and the checkout
    starts from it: the order and the gateway get the total the checkout page showed."""
    from decimal import Decimal

    from orders import services as order_services
    from payments.models import Payment
    from shipping import services as shipping_services

    shipping_services.shipping_seed_defaults()
    order_services.promo_code_create(code="WELCOME10", percent=Decimal("10"))
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_label("Promo code").fill("nope")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Promo code NOPE does not exist.")).to_be_visible()
    page.get_by_label("Promo code").fill("welcome10")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Promo code WELCOME10 applied.")).to_be_visible()
    expect(page.get_by_text("Discount (WELCOME10)")).to_be_visible()
    expect(page.get_by_text("$116.10")).to_be_visible()  # 129.00 - 12.90, before shipping and tax
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Promo code")).to_have_value("WELCOME10")
    expect(page.get_by_text("Discount (WELCOME10)")).to_be_visible()
    fill_address(page)  # (GB: no tax rate set in this shop)
    page.get_by_label(re.compile(r"Express · 14\.95")).check()
    page.get_by_role("button", name="Update totals").click()
    expect(page.get_by_role("button", name="Pay $131.05")).to_be_visible()  # 116.10 + 14.95
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.get_by_text("$131.05")).to_be_visible()
    order = Order.objects.get()
    assert (order.promo_code, order.discount, order.total) == ("WELCOME10", Decimal("12.90"), Decimal("131.05"))
    assert Payment.objects.get().amount == Decimal("131.05")
    page.goto(live_server.url + "/cart/")
    expect(page.get_by_text("WELCOME10")).to_have_count(0)  # used: the next cart starts without it


def test_a_signed_in_shopper_ships_to_their_saved_address_with_its_states_tax_and_a_code(page, live_server, shop,
                                                                                         django_user_model):
    """Issue 22 for an account: the address book's address (New York, typed as the state's name) is where the
    checkout starts, its state's tax is charged on the discounted lines and on shipping, and the order is printed
    the way the country writes it."""
    from decimal import Decimal

    from orders import services as order_services
    from payments.models import Payment
    from shipping import services as shipping_services
    from shipping.models import TaxRate

    shipping_services.shipping_seed_defaults()
    TaxRate.objects.create(country="US", region="NY", name="Sales tax", rate=Decimal("8.875"))
    shipping_services.shipping_invalidate()
    order_services.promo_code_create(code="SPRING", percent=Decimal("15"), per_customer=1)
    grace = django_user_model.objects.create_user("grace", "grace@example.com", "correct-horse-battery-staple")
    page.goto(live_server.url + "/account/login/")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/account/addresses/")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Address", exact=True).fill("1 Liberty Plaza")
    page.get_by_label("City").fill("New York")
    page.get_by_label("State / province / region").fill("New York")
    page.get_by_label("Postal code").fill("10006")
    page.get_by_label("Country").select_option("US")
    page.get_by_role("button", name="Save address").click()
    expect(page.get_by_text("NEW YORK, NY 10006")).to_be_visible()
    page.goto(live_server.url + f"/p/{shop.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    page.get_by_label("Promo code").fill("spring")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("Discount (SPRING)")).to_be_visible()
    page.get_by_role("link", name="Check out").click()
    expect(page.get_by_label("Full name")).to_have_value("Grace Hopper")
    expect(page.get_by_label("Email")).to_have_value("grace@example.com")
    page.get_by_label(re.compile(r"Express · 14\.95")).check()
    page.get_by_role("button", name="Update totals").click()
    # 129.00 - 19.35 = 109.65; express 14.95; tax 9.73 on the line and 1.33 on shipping: 135.66
    expect(page.get_by_text("Sales tax")).to_be_visible()
    expect(page.get_by_role("button", name="Pay $135.66")).to_be_visible()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/orders/[^/]+/$"))
    expect(page.get_by_text("NEW YORK, NY 10006")).to_be_visible()
    order = Order.objects.get()
    assert (order.user_id, order.shipping_method, order.discount, order.tax, order.total) == \
        (grace.pk, "express", Decimal("19.35"), Decimal("11.06"), Decimal("135.66"))
    assert Payment.objects.get().amount == Decimal("135.66")
