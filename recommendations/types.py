"""What the recommendations' services take and return; other apps and the pages see these, never its models."""

from __future__ import annotations

from dataclasses import dataclass

from store.core.exceptions import InvalidInput

KINDS = ("bought_together", "similar")
MAX_LIMIT = 50


@dataclass(frozen=True)
class Recommended:
    """A product card (catalog's: slug, name, price, currency, in_stock, image_url, url, …) and why it is shown."""

    card: dict
    reason: str


@dataclass(frozen=True)
class RebuildReport:
    purchases: int
    products: int
    pairs: int
    lists: int
    changed_pages: int
    seconds: float


class InvalidRecommendationQuery(InvalidInput):
    code = "invalid_recommendation_query"
