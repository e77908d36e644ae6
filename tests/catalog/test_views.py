import re

import pytest

from tests.factories import make_product

pytestmark = pytest.mark.django_db


def test_home_shows_categories_featured_and_newest(client):
    make_product(name="Featured Stove", featured=True)
    make_product(name="Plain Mug")
    html = client.get("/").content.decode()
    assert "Featured Stove" in html and "Plain Mug" in html
    assert "Gear" in html  # the category menu
    assert len(set(re.findall(r'href="(/p/[^"]+)"', html))) == 2


def test_product_page_shows_price_and_availability_per_variant(client):
    spec = make_product(name="Trail Runner", prices=["120.00", "125.00", "130.00"], stock=[50, 3, 0])
    html = client.get(f"/p/{spec.slug}/").content.decode()
    assert "Trail Runner" in html
    assert "$120.00" in html and "$130.00" in html
    assert "In stock" in html and "Only 3 left" in html and "Sold out" in html


def test_product_names_with_html_are_escaped_everywhere(client):
    spec = make_product(name="<script>alert(1)</script> Mug", description="<b>bold</b>")
    for path in ["/", f"/p/{spec.slug}/", "/c/gear/", "/search/?q=Mug"]:
        html = client.get(path).content.decode()
        assert "<script>alert(1)</script>" not in html, path
        assert "&lt;script&gt;" in html, path


def test_category_page_lists_products_of_subcategories_with_sorting_and_paging(client, settings):
    settings.CATALOG_PAGE_SIZE = 2
    for price in ["10.00", "30.00", "20.00"]:
        make_product(price=price)
    html = client.get("/c/gear/?sort=-price").content.decode()
    assert html.index("$30.00") < html.index("$20.00")
    assert "Page 1 of 2" in html and "$10.00" not in html
    assert 'rel="next"' in html
    second = client.get("/c/gear/?sort=-price&page=2").content.decode()
    assert "Page 2 of 2" in second and "$10.00" in second and "$30.00" not in second


@pytest.mark.parametrize("path", ["/p/no-such-product/", "/c/no-such-category/", "/c/gear/?page=99",
                                  "/c/gear/?page=abc"])
def test_unknown_pages_are_the_shops_own_404(client, path):
    make_product()
    response = client.get(path)
    assert response.status_code == 404
    assert b"couldn't find that page" in response.content


@pytest.mark.parametrize("query", ["sort=evil", "min_price=-1", "max_price=abc", "in_stock=maybe"])
def test_bad_listing_parameters_show_the_listing_with_a_notice(client, query):
    make_product(name="Still Shown")
    response = client.get(f"/c/gear/?{query}")
    assert response.status_code == 200
    assert b"Still Shown" in response.content
    assert b'role="alert"' in response.content


def test_search_page_does_not_echo_markup(client):
    response = client.get("/search/", {"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content


def test_static_files_are_served_by_the_app(client):
    css = client.get("/static/css/store.css")
    assert css.status_code == 200 and css["Content-Type"].startswith("text/css")
    assert b"{" in b"".join(css.streaming_content if css.streaming else [css.content])


def test_pages_state_the_return_window_the_shop_is_set_to(client, settings):
    settings.RETURN_WINDOW_DAYS = 14
    spec = make_product()
    for path in ("/", f"/p/{spec.slug}/"):
        html = client.get(path).content.decode()
        assert "Returns within 14 days" in html and "30 days" not in html, path
