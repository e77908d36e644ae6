"""Products to recommend and paid orders to learn from, made as the shop makes them."""

import random

from django.test import Client

from cart import services as cart_services
from recommendations import services
from store.core import outbox
from tests.factories import make_product
from tests.orders.helpers import body, checkout

TENTS = (("camping", "Camping"), ("tents", "Tents"))
BAGS = (("camping", "Camping"), ("sleeping", "Sleeping Bags"))


def products(n: int = 4, *, category=TENTS, stock: int = 50, prefix: str = "Ember Tent") -> list[str]:
    return [make_product(name=f"{prefix} {i}", category=category, stock=stock).slug for i in range(n)]


def sku_of(slug: str) -> str:
    from catalog import services as catalog_services

    return next(iter(catalog_services.product_variants(slug=slug)))


def pay_for(*slugs: str, email: str = "shopper@example.com") -> str:
    """A paid order of one unit of each product, through the real checkout; its events delivered. The number."""
    token = cart_services.cart_create().token
    for slug in slugs:
        cart_services.cart_add(token=token, sku=sku_of(slug), quantity=1)
    response = checkout(Client(), body(token, email=email))
    assert response.status_code == 201, response.content
    outbox.relay_pending()
    return response.json()["number"]


def learn_baskets(baskets: list[list[str]], categories: dict[str, str], *, start: int = 0) -> None:
    """Record baskets as orders directly (what order_learn records for a paid order)."""
    from django.utils import timezone

    for n, basket in enumerate(baskets, start=start):
        services.purchase_record(order_number=f"T-{n}", products={s: categories[s] for s in basket},
                                 paid_at=timezone.now())


def random_baskets(slugs: list[str], count: int, seed: int = 1) -> list[list[str]]:
    rng = random.Random(seed)
    return [rng.sample(slugs, rng.randint(1, min(4, len(slugs)))) for _ in range(count)]
