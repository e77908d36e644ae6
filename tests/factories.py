"""factory_boy factories. Catalogue rows are made through catalog.services.catalog_import, as the shop makes them,
so that stock rows, derived fields and caches are what they would be in production."""

from __future__ import annotations

import itertools
from decimal import Decimal

from catalog import services as catalog_services
from catalog.types import ProductSpec, VariantSpec

_counter = itertools.count(1)


def make_product(*, name: str | None = None, price: str = "20.00", stock: int | list[int] = 10,
                 category: tuple[tuple[str, str], ...] = (("gear", "Gear"), ("packs", "Packs")),
                 variants: int = 1, description: str = "A sturdy thing.", featured: bool = False,
                 slug: str | None = None, prices: list[str] | None = None) -> ProductSpec:
    n = next(_counter)
    name = name or f"Test Product {n}"
    stocks = stock if isinstance(stock, list) else [stock] * variants
    prices = prices or [price] * len(stocks)
    spec = ProductSpec(
        slug=slug or f"test-product-{n}",
        name=name,
        description=description,
        category_path=category,
        variants=tuple(
            VariantSpec(sku=f"T{n}-{i}", name=f"Option {i}", attributes={"size": f"S{i}"},
                        price=Decimal(prices[i]), on_hand=stocks[i])
            for i in range(len(stocks))
        ),
        is_featured=featured,
    )
    catalog_services.catalog_import(products=[spec])
    return spec
