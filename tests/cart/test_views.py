import re

import pytest

from cart import services
from tests.factories import make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    return make_product(name="Wool <Blanket>", prices=["80.00", "90.00"], stock=[4, 0])


def test_add_from_the_product_page_then_see_the_cart(client, product):
    page = client.get(f"/p/{product.slug}/").content.decode()
    assert 'action="/cart/add/"' in page and 'name="csrfmiddlewaretoken"' in page
    assert "disabled" in page  # the sold-out option cannot be chosen
    response = client.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "2"})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    html = client.get("/cart/").content.decode()
    assert "Added 2 × Wool &lt;Blanket&gt; — Option 0 to your cart." in html
    assert "$160.00" in html and "<Blanket>" not in html
    page = client.get(f"/p/{product.slug}/").content.decode()
    assert 'data-cart-count>2<' in page and 'aria-label="Cart, items: 2"' in page  # units, not lines


def test_the_badge_counts_units_on_cached_and_uncached_pages(client, product):
    client.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "3"})
    for _ in range(2):  # the product page rendered, then from the page cache
        assert 'data-cart-count>3<' in client.get(f"/p/{product.slug}/").content.decode()
    assert 'data-cart-count>3<' in client.get("/cart/").content.decode()
    assert services.cart_unit_count(token=client.session["cart_token"]) == 3


def test_updates_and_removals_are_confirmed_by_name(client, product):
    sku = product.variants[0].sku
    client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    client.post("/cart/update/", {"sku": sku, "quantity": "2"})
    assert "Updated: 2 × Wool &lt;Blanket&gt; — Option 0 in your cart." in client.get("/cart/").content.decode()
    client.post("/cart/remove/", {"sku": sku})
    assert "Removed Wool &lt;Blanket&gt; — Option 0 from your cart." in client.get("/cart/").content.decode()
    client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    client.post("/cart/update/", {"sku": sku, "quantity": "0"})
    assert "Removed Wool &lt;Blanket&gt; — Option 0 from your cart." in client.get("/cart/").content.decode()


def test_update_and_remove_without_javascript(client, product):
    sku = product.variants[0].sku
    client.post("/cart/add/", {"sku": sku, "quantity": "1"})
    client.post("/cart/update/", {"sku": sku, "quantity": "3"})
    assert "$240.00" in client.get("/cart/").content.decode()
    client.post("/cart/remove/", {"sku": sku})
    assert "Your cart is empty" in client.get("/cart/").content.decode()


@pytest.mark.parametrize(("quantity", "message"), [("0", "Ensure this value is greater than or equal to 1."),
                                                   ("abc", "Enter a whole number from 1 to 99."),
                                                   ("9", "Only 4 of Wool &lt;Blanket&gt; — Option 0 available.")])
def test_bad_adds_come_back_to_the_product_page_with_a_message(client, product, quantity, message):
    page = f"/p/{product.slug}/"
    response = client.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": quantity, "next": page})
    assert response.status_code == 302 and response["Location"].split("#")[0] == page
    assert message in client.get(page).content.decode()


def test_too_few_left_goes_back_naming_the_variant_chosen_for_the_page_to_choose_again(client, product):
    page, sku = f"/p/{product.slug}/", product.variants[0].sku
    response = client.post("/cart/add/", {"sku": sku, "quantity": "9", "next": page})
    assert response["Location"] == f"{page}#sku={sku}"
    assert 'class="message message-error" role="alert">Only 4 of Wool &lt;Blanket&gt; — Option 0 available.' \
        in client.get(page).content.decode()


def test_sold_out_and_unknown_items_are_refused_with_a_message(client, product):
    client.post("/cart/add/", {"sku": product.variants[1].sku, "quantity": "1"})
    assert "Sorry, Wool &lt;Blanket&gt; — Option 1 is sold out." in client.get("/cart/").content.decode()
    client.post("/cart/add/", {"sku": "NOPE", "quantity": "1"})
    assert "We don&#x27;t sell" in client.get("/cart/").content.decode()


def test_an_offsite_next_is_ignored(client, product):
    response = client.post("/cart/add/", {"sku": "NOPE", "quantity": "1", "next": "https://evil.example/"})
    assert response["Location"] == "/cart/"


@pytest.mark.parametrize("back", [{"next": "checkout"}, {"next": "cart:page"},
                                  {"HTTP_REFERER": "somewhere"}, {"next": "\\\\evil.example"},
                                  {"next": "/\\evil.example"}, {"next": "https:evil.example"}])
def test_a_next_or_referer_that_is_no_address_of_this_shop_goes_to_the_cart_not_a_500(client, product, back):
    """A word with no slash or dot was handed to redirect(), which reads it as a view's name: NoReverseMatch, a 500
    (a Referer of one word did it too), and a real view's name ("cart:page") was followed."""
    client.raise_request_exception = False
    next_ = {"next": back["next"]} if "next" in back else {}
    extra = {k: v for k, v in back.items() if k != "next"}
    response = client.post("/cart/add/", {"sku": "NOPE", "quantity": "1", **next_}, **extra)
    assert response.status_code == 302
    assert response["Location"] == "/cart/"


def test_cart_forms_need_a_csrf_token(product):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "1"})
    assert response.status_code == 403
    assert "cart_token" not in strict.session  # no cart was made, let alone added to
    assert "Your cart is empty" in strict.get("/cart/").content.decode()


def test_get_is_not_allowed_on_cart_actions(client):
    assert client.get("/cart/add/").status_code == 405


def test_an_expired_cart_in_the_session_starts_afresh(client, product):
    session = client.session
    session["cart_token"] = "expired-token"
    session.save()
    assert "Your cart is empty" in client.get("/cart/").content.decode()
    client.post("/cart/add/", {"sku": product.variants[0].sku, "quantity": "1"})
    assert client.session["cart_token"] != "expired-token"
    assert services.cart_line_count(token=client.session["cart_token"]) == 1


@pytest.mark.django_db
def test_a_refusal_shown_at_the_top_of_the_page_reads_as_an_alert_not_a_confirmation(client):
    sku = make_product(stock=1).variants[0].sku
    client.post("/cart/add/", {"sku": sku, "quantity": "5"})
    page = client.get("/cart/").content.decode()
    assert 'role="alert"' in page and 'role="status"' not in page


def test_each_line_shows_its_products_picture(client):
    import io
    from decimal import Decimal

    from PIL import Image

    from catalog import services as catalog_services
    from catalog.types import ProductSpec, VariantSpec

    photo = io.BytesIO()
    Image.new("RGB", (40, 40), (90, 120, 110)).save(photo, "JPEG")
    catalog_services.catalog_import(products=[ProductSpec(
        slug="pictured-mug", name="Pictured Mug", description="A mug.", category_path=(("home", "Home"),),
        image_jpeg=photo.getvalue(),
        variants=(VariantSpec(sku="MUG-1", name="Blue", attributes={}, price=Decimal("9.00"), on_hand=5),))])
    plain = make_product(name="Plain Mug")
    client.post("/cart/add/", {"sku": "MUG-1", "quantity": "1"})
    client.post("/cart/add/", {"sku": plain.variants[0].sku, "quantity": "1"})
    html = client.get("/cart/").content.decode()
    table = html.split('<table class="cart-table">')[1]
    assert table.index('class="line-image"') < table.index("Pictured Mug") < table.index("Plain Mug")
    assert re.search(r'<img src="[^"]+\.jpg" alt="" width="64" height="64" class="line-image">', table)
    assert html.count('class="line-image no-image"') == 1  # a product without a picture keeps the line's shape
