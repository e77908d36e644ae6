"""Reviews' own reads: a product's published reviews in the order a shopper asks for, a page at a time."""

from __future__ import annotations

from .models import Review
from .types import SORTS, InvalidSort

ORDER = {
    "helpful": ("-helpful_count", "-id"),
    "newest": ("-id",),
    "highest": ("-rating", "-id"),
    "lowest": ("rating", "-id"),
}
PAGE_SIZE = 10
MAX_PAGE = 10_000


def review_sort(value: str | None) -> str:
    sort = (value or "helpful").strip()
    if sort not in ORDER:
        raise InvalidSort(f"Sort by one of {', '.join(SORTS)}.", extra={"param": "sort"})
    return sort


def review_page_number(value) -> int:
    raw = str(value or "1").strip()
    # ASCII digits only: str.isdigit() also passes "²" (which int() refuses) and other scripts' digits; the length
    # cap keeps int() cheap, and leading zeros cannot smuggle a page past the range into the query's OFFSET
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidSort(f"page must be a whole number from 1 to {MAX_PAGE}.", extra={"param": "page"})
    return int(raw)


def published_reviews(*, product_slug: str, sort: str = "helpful", page: int = 1,
                      per_page: int = PAGE_SIZE) -> list[Review]:
    """One page of the product's published reviews (an index per sort: product, status, key)."""
    start = (page - 1) * per_page
    return list(Review.objects.filter(product_slug=product_slug, status=Review.Status.PUBLISHED)
                .order_by(*ORDER[sort])[start:start + per_page])
