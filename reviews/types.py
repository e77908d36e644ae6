"""What reviews' services take and return, and the refusals they raise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from store.core.exceptions import ApplicationError, InvalidInput, NotFound

SORTS = ("helpful", "newest", "highest", "lowest")


@dataclass(frozen=True)
class ReviewInput:
    rating: int
    title: str
    body: str


@dataclass(frozen=True)
class ReviewView:
    id: int
    product_slug: str
    user_id: int
    author_name: str
    sku: str
    variant_name: str
    rating: int
    title: str
    body: str
    status: str  # published, pending, hidden
    held_because: str
    helpful_count: int
    unhelpful_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class RatingSummary:
    count: int
    rating_sum: int
    distribution: dict[int, int]  # 1..5 -> published reviews with that many stars

    @property
    def average(self) -> Decimal | None:
        if not self.count:
            return None
        return (Decimal(self.rating_sum) / self.count).quantize(Decimal("0.01"))


class InvalidReview(InvalidInput):
    code = "invalid_review"


class InvalidSort(InvalidInput):
    code = "invalid_sort"


class NotSignedIn(ApplicationError):
    code = "not_signed_in"
    status = 403


class NotVerified(ApplicationError):
    code = "not_verified"
    status = 403


class AlreadyReviewed(ApplicationError):
    code = "already_reviewed"
    status = 409


class ReviewNotFound(NotFound):
    code = "review_not_found"

    def __init__(self, review_id):
        super().__init__(f"No review {str(review_id)[:20]!r}.", extra={"id": str(review_id)[:20]})


class NotYourReview(ApplicationError):
    code = "not_your_review"
    status = 403


class OwnReview(ApplicationError):
    code = "own_review"
    status = 403
