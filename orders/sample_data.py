"""Sample order history for the sample catalogue: baskets with structure a recommender should find, and noise.

- Occasions: a shopper buys for one thing at a time (a camping trip: a tent, a sleeping bag, a stove, a bottle;
  a run: shoes, a tee, a bottle, a cap; …), so products of complementary categories are bought together.
- Companions: each product has one companion product in another category of its occasion, added to the basket
  with it half the time (a tent's own footprint-sized sleeping bag) — item-level structure that category
  popularity cannot see.
- Brand loyalty: a shopper keeps to a favourite brand (the first word of the sample names) when it is there.
- Popularity: in each category a few products sell far more than the rest (Zipf-like weights).
- Noise: one item in six is any product at all, and some baskets hold a single product.

Pure: products in, baskets out, the same for the same seed (orders' seed_orders command places them)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Mapping, Sequence

OCCASIONS = {
    "camping": ["tents", "sleeping", "cooking", "bottles", "bags"],
    "running": ["running", "tops", "bottles", "hats"],
    "hiking": ["hiking", "trousers", "jackets", "bags", "hats"],
    "home": ["kitchen", "textiles"],
    "travel": ["bags", "sandals", "tops", "bottles"],
    "rain": ["jackets", "hats", "trousers"],
}
BASKET_SIZES = [1, 2, 2, 3, 3, 3, 4, 4, 5]
NOISE = 1 / 6
LOYALTY = 0.5
COMPANION = 0.5


def sample_baskets(products: Sequence[Mapping], *, orders: int, seed: int = 1) -> list[tuple[int, list[str]]]:
    """``orders`` baskets of product slugs, each with its shopper's number; ``products``: dicts with slug, name and
    category (catalog.services.product_features)."""
    rng = random.Random(seed)
    by_category: dict[str, list[str]] = defaultdict(list)
    brand_of: dict[str, str] = {}
    for product in sorted(products, key=lambda p: p["slug"]):
        by_category[product["category"]].append(product["slug"])
        brand_of[product["slug"]] = product["name"].split(" ")[0]
    slugs = sorted(brand_of)
    if not slugs:
        return []
    weights = {}
    for members in by_category.values():
        ranked = rng.sample(members, len(members))
        for place, slug in enumerate(ranked):
            weights[slug] = 1 / (place + 1)
    occasions = {name: [c for c in categories if by_category.get(c)] for name, categories in OCCASIONS.items()}
    occasions = {name: categories for name, categories in occasions.items() if categories} or {
        "any": sorted(by_category)}
    companion = {}
    for name in sorted(occasions):
        categories = occasions[name]
        for category in categories:
            others = [c for c in categories if c != category]
            for slug in by_category[category]:
                if others and slug not in companion:
                    companion[slug] = rng.choice(by_category[rng.choice(others)])
    brands = sorted(set(brand_of.values()))
    shoppers = max(20, orders // 4)
    favourite = [(rng.choice(brands), rng.choice(sorted(occasions))) for _ in range(shoppers)]

    def pick(category: str, brand: str) -> str:
        members = by_category[category]
        loyal = [s for s in members if brand_of[s] == brand]
        if loyal and rng.random() < LOYALTY:
            return rng.choice(loyal)
        return rng.choices(members, weights=[weights[s] for s in members])[0]

    baskets = []
    for _ in range(orders):
        shopper = min(int(rng.paretovariate(1.2)) - 1, shoppers - 1)  # a few shoppers come back often
        brand, usual = favourite[shopper]
        occasion = usual if rng.random() < 0.7 else rng.choice(sorted(occasions))
        categories = occasions[occasion]
        size = rng.choice(BASKET_SIZES)
        chosen = rng.sample(categories, min(size, len(categories)))
        basket: list[str] = []
        for category in chosen:
            slug = rng.choice(slugs) if rng.random() < NOISE else pick(category, brand)
            basket.append(slug)
            if slug in companion and rng.random() < COMPANION:
                basket.append(companion[slug])
        baskets.append((shopper, list(dict.fromkeys(basket))))
    return baskets
