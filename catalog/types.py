"""What the catalogue's services take and return; other apps see these, never its models."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from store.core.exceptions import InvalidInput, NotFound


@dataclass(frozen=True)
class VariantInfo:
    """A SKU as the cart and checkout need it: always read fresh, never trusted from a cart."""

    sku: str
    product_slug: str
    product_name: str
    variant_name: str
    price: Decimal
    currency: str
    is_active: bool
    weight: Decimal = Decimal("0")  # kg, for shipping priced by weight
    category_slugs: tuple[str, ...] = ()  # the product's category and the one above it (promo codes' scope)
    image_url: str = ""  # the product's first picture (a cart line shows it), "" for none

    @property
    def display_name(self) -> str:
        """How carts and orders name the SKU: "Product — Variant"."""
        return f"{self.product_name} — {self.variant_name}"


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""
    category: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    sort: str = ""
    min_rating: Decimal | None = None  # average stars, 1 to 5: "4 stars & up"
    exact: bool = False  # the words as typed, never corrected ("search instead for …")
    attributes: dict[str, str] = field(default_factory=dict)


class ProductNotFound(NotFound):
    code = "product_not_found"

    def __init__(self, slug: str):
        super().__init__(f"No product {slug!r}.", extra={"slug": slug})


class UnknownCategory(NotFound):
    code = "unknown_category"

    def __init__(self, slug: str):
        super().__init__(f"No category {slug!r}.", extra={"category": slug})


class InvalidFilter(InvalidInput):
    code = "invalid_filter"


class InvalidPage(NotFound):
    code = "invalid_page"


@dataclass(frozen=True)
class VariantSpec:
    sku: str
    name: str
    attributes: dict[str, str]
    price: Decimal
    on_hand: int
    weight: Decimal = Decimal("0")  # kg


@dataclass(frozen=True)
class ProductSpec:
    """A product to import (seed data, a supplier feed): its category path, variants and one image."""

    slug: str
    name: str
    description: str
    category_path: tuple[tuple[str, str], ...]  # ((slug, name), ...) from the top category down
    variants: tuple[VariantSpec, ...]
    image_jpeg: bytes | None = None
    is_featured: bool = False
