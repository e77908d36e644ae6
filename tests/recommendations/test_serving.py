"""Serving: the product page's two sections and the cart's, filtered at serve time (inactive, out of stock, in the
cart), absent without an error when the recommender is empty or fails, and the cached page rebuilt when a list
changes; the API's answers and its 4xx for bad input."""

import pytest
from django.db import DatabaseError
from django.test import override_settings

from cart import services as cart_services
from catalog.models import Product
from recommendations import selectors, services
from tests.ports import dead_redis_caches
from tests.recommendations.helpers import BAGS, learn_baskets, products, sku_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """A tent bought with each of four sleeping bags (the first most often), and one bag sold out."""
    tent = products(1)[0]
    bags = products(4, category=BAGS, prefix="Ember Bag")
    sold_out = products(1, category=BAGS, stock=0, prefix="Ember Bag")[0]
    categories = {tent: "tents", **dict.fromkeys([*bags, sold_out], "sleeping")}
    baskets = [[tent, bags[0]]] * 5 + [[tent, bags[1]]] * 4 + [[tent, bags[2]]] * 3 + [[tent, bags[3]]] * 2
    learn_baskets(baskets + [[tent, sold_out]] * 6, categories)
    return tent, bags, sold_out


def slugs(response):
    return [r["slug"] for r in response.json()["results"]]


def test_the_api_lists_what_was_bought_together_best_first_with_a_reason(client, shop):
    tent, bags, _sold_out = shop
    response = client.get(f"/api/v1/products/{tent}/recommendations/?kind=bought_together&limit=3")
    assert response.status_code == 200
    assert slugs(response) == bags[:3]  # the sold-out bag, bought most with it, is left out
    first = response.json()["results"][0]
    assert first["reason"] == "Customers who bought this also bought it"
    assert {"slug", "name", "price", "currency", "in_stock", "image_url", "url"} <= set(first)


def test_an_inactive_product_is_not_recommended(client, shop):
    tent, bags, _ = shop
    Product.objects.filter(slug=bags[0]).update(is_active=False)
    assert bags[0] not in slugs(client.get(f"/api/v1/products/{tent}/recommendations/"))


@pytest.mark.parametrize("query", ["limit=0", "limit=51", "limit=abc", "limit=1.5", "limit=-3", "limit=%EF%BC%91",
                                   "kind=nope", "kind=", "limit=99999999999999999999"])
def test_bad_input_is_a_400_with_a_message(client, shop, query):
    tent, _, _ = shop
    response = client.get(f"/api/v1/products/{tent}/recommendations/?{query}")
    if query == "kind=":  # empty means the default
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid_recommendation_query" and response.json()["message"]


def test_unknown_products_and_carts_are_404(client):
    assert client.get("/api/v1/products/no-such-thing/recommendations/").status_code == 404
    assert client.get("/api/v1/carts/no-such-cart/recommendations/").status_code == 404


def test_a_cart_gets_what_goes_with_its_lines_and_never_what_it_holds(client, shop):
    tent, bags, _sold_out = shop
    token = cart_services.cart_create().token
    cart_services.cart_add(token=token, sku=sku_of(tent), quantity=1)
    cart_services.cart_add(token=token, sku=sku_of(bags[0]), quantity=1)
    response = client.get(f"/api/v1/carts/{token}/recommendations/")
    assert response.status_code == 200
    assert slugs(response)[:3] == bags[1:4]
    assert response.json()["results"][0]["reason"].startswith("Goes with ")
    assert client.get(f"/api/v1/carts/{token}/recommendations/?limit=0").status_code == 400


def test_the_product_page_shows_both_sections_and_the_cart_page_its_own(client, shop):
    tent, bags, sold_out = shop
    page = client.get(f"/p/{tent}/").content.decode()
    assert "Customers also bought" in page and f"/p/{bags[0]}/" in page and f"/p/{sold_out}/" not in page
    session_cart = client.post("/cart/add/", {"sku": sku_of(tent), "quantity": "1"})
    assert session_cart.status_code in (200, 302)
    cart_page = client.get("/cart/").content.decode()
    assert "You might also like" in cart_page and f"/p/{bags[0]}/" in cart_page


def test_an_empty_recommender_leaves_the_sections_out(client):
    tent = products(1)[0]
    page = client.get(f"/p/{tent}/")
    assert page.status_code == 200
    assert "Customers also bought" not in page.content.decode()
    assert client.get(f"/api/v1/products/{tent}/recommendations/").json() == {"results": []}


def test_a_failing_recommender_leaves_the_sections_out_and_the_page_up(client, shop, monkeypatch):
    tent, _, _ = shop

    def broken(keys):
        raise DatabaseError("the recommendations' tables are gone")

    monkeypatch.setattr(selectors, "lists", broken)
    page = client.get(f"/p/{tent}/")
    assert page.status_code == 200 and "Customers also bought" not in page.content.decode()


def test_with_redis_down_the_product_page_still_renders(client, shop):
    tent, _, _ = shop
    with override_settings(CACHES=dead_redis_caches(IGNORE_EXCEPTIONS=True)):  # as settings.py configures it
        assert client.get(f"/p/{tent}/").status_code == 200


def test_the_cached_product_page_changes_when_its_list_changes(client, on_commit, settings):
    settings.PAGECACHE_ENABLED = True
    tent = products(1)[0]
    bag = products(1, category=BAGS)[0]
    assert "Customers also bought" not in client.get(f"/p/{tent}/").content.decode()  # cached now
    with on_commit():
        learn_baskets([[tent, bag], [tent, bag]], {tent: "tents", bag: "sleeping"})
    page = client.get(f"/p/{tent}/").content.decode()
    assert "Customers also bought" in page and f"/p/{bag}/" in page


def test_a_product_nobody_bought_yet_gets_its_categorys_most_bought(client, shop):
    _, bags, _ = shop
    lonely = products(1, category=BAGS, prefix="Ember Bag")[0]
    services.popular_refresh()  # (beat, every minute)
    response = client.get(f"/api/v1/products/{lonely}/recommendations/?limit=2")
    assert slugs(response) == bags[:2]  # the sold-out bag, bought most, left out
    assert response.json()["results"][0]["reason"] == "Popular in sleeping"


def test_staff_see_the_lists_read_only(client, shop, django_user_model):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-for-tests-only")
    client.force_login(admin)
    services.popular_refresh()
    page = client.get("/admin/recommendations/recommendationlist/?q=popular")
    assert page.status_code == 200 and "popular:sleeping" in page.content.decode()
    assert client.get("/admin/recommendations/recommendationlist/add/").status_code == 403
