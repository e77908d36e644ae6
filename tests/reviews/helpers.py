"""Verified buyers for reviews: a shopper with a paid order of a product."""

from django.contrib.auth import get_user_model

from catalog import services as catalog_services
from tests.returns.helpers import paid_order


def buyer(username: str, *, sku_product=None):
    """(user, product slug, sku): a signed-up shopper who paid for one unit of a new product."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-for-tests-only")
    number, sku, _ = paid_order(quantity=1, stock=50, user=user)
    slug = catalog_services.variant_prices(skus=[sku])[sku].product_slug
    return user, slug, sku, number


def stranger(username: str):
    return get_user_model().objects.create_user(username, f"{username}@example.com", "pw-for-tests-only")


def buy_too(user, slug: str) -> None:
    """``user`` pays for the product ``slug`` as well (through the real checkout)."""
    from django.test import Client

    from cart import services as cart_services
    from tests.orders.helpers import body, checkout

    sku = next(iter(catalog_services.product_variants(slug=slug)))
    token = cart_services.cart_create(user_id=user.pk).token
    cart_services.cart_add(token=token, sku=sku, quantity=1, user_id=user.pk)
    client = Client()
    client.force_login(user)
    response = checkout(client, body(token))
    assert response.status_code == 201, response.content
