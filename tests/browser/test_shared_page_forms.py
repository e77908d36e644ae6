"""The form on the page every first-time visitor shares (it carries no CSRF token) in a real browser: with
JavaScript the token is fetched when the form is sent (static/js/csrf.js), without it the shop asks to confirm."""

import pytest
from playwright.sync_api import expect

from tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_javascript_a_first_visitor_confirms_and_the_product_is_added(browser, live_server):
    tent = make_product(name="Granite Peak Tent", price="349.00", stock=4)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + f"/p/{tent.slug}/")
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("heading", name="One more step")).to_be_visible()
        page.get_by_role("button", name="Continue").click()
        expect(page.get_by_text("Added 1 × Granite Peak Tent")).to_be_visible()
    finally:
        context.close()


def test_a_form_sent_again_while_its_token_is_fetched_is_not_sent_without_it(page, live_server):
    tent = make_product(name="Granite Peak Tent", price="349.00", stock=4)
    page.goto(live_server.url + f"/p/{tent.slug}/")
    sent = []
    page.on("request", lambda r: sent.append(r.post_data or "") if r.url.endswith("/cart/add/") else None)
    # a double press: the second submit comes before /csrf/ can have answered the first
    page.evaluate("() => { const form = document.querySelector('.buy-form'); form.requestSubmit();"
                  " form.requestSubmit(); }")
    expect(page.get_by_text("Added 1 × Granite Peak Tent")).to_be_visible()
    assert len(sent) == 1 and "csrfmiddlewaretoken=&" not in sent[0], sent


def test_a_browser_without_request_submit_still_sends_the_form_with_its_token(page, live_server):
    tent = make_product(name="Granite Peak Tent", price="349.00", stock=4)
    page.add_init_script("delete HTMLFormElement.prototype.requestSubmit;")  # Safari before 16
    page.goto(live_server.url + f"/p/{tent.slug}/")
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_text("Added 1 × Granite Peak Tent")).to_be_visible()
