"""Reviews written, edited, hidden, approved and deleted at once (real threads, each with its own connection,
released together by a barrier): the product's precomputed rating always equals a recount of its published
reviews, and an account's two racing posts store one review."""

import pytest

from catalog.models import Product
from reviews import services
from reviews.models import ProductRating, Review
from reviews.types import AlreadyReviewed, ReviewInput
from tests.concurrency import race
from tests.reviews.helpers import buy_too, buyer, stranger

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATE_LIMITS = {}


def stored(slug):
    row = ProductRating.objects.get(product_slug=slug)
    return row.count, row.rating_sum, [getattr(row, f"stars_{n}") for n in range(1, 6)]


def recounted(slug):
    ratings = list(Review.objects.filter(product_slug=slug, status="published").values_list("rating", flat=True))
    return len(ratings), sum(ratings), [ratings.count(n) for n in range(1, 6)]


def test_racing_writes_edits_hides_approvals_and_deletes_leave_the_rating_exact():
    first, slug, _, _ = buyer("buyer0")
    users = [first]
    for n in range(1, 8):
        user = stranger(f"buyer{n}")
        buy_too(user, slug)
        users.append(user)

    def write(i):  # every buyer posts twice at once: one review each, whatever the order
        user = users[i % len(users)]
        return services.review_create(product_slug=slug, user_id=user.pk, author_name=user.username,
                                      review=ReviewInput(rating=i % 5 + 1, title=f"Take {i}", body="Fine."))

    results = race(2 * len(users), write)
    assert sum(isinstance(r, AlreadyReviewed) for r in results) == len(users)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, AlreadyReviewed)]
    assert Review.objects.filter(product_slug=slug).count() == len(users)
    assert stored(slug) == recounted(slug)

    reviews = {r.user_id: r.id for r in Review.objects.filter(product_slug=slug)}
    services.review_moderate(review_id=reviews[users[3].pk], action="hide", reason="setup", staff_user_id=None)

    def churn(i):  # on every review at once: its author edits (or deletes) it while staff hide, approve or delete
        user = users[i % len(users)]
        review_id = reviews[user.pk]
        if i < len(users):
            if i % 3 == 0:
                return services.review_delete(review_id=review_id, user_id=user.pk)
            return services.review_update(review_id=review_id, user_id=user.pk,
                                          review=ReviewInput(rating=5 - i % 5, title="Changed", body="Changed."))
        action = ("hide", "approve", "delete", "approve")[i % 4]
        return services.review_moderate(review_id=review_id, action=action, reason="race", staff_user_id=None)

    results = race(2 * len(users), churn)
    unexpected = [r for r in results if isinstance(r, Exception) and getattr(r, "code", "") != "review_not_found"]
    assert unexpected == []
    assert stored(slug) == recounted(slug)
    assert services.ratings_recount(fix=False) == []
    count, _, _ = recounted(slug)
    product = Product.objects.get(slug=slug)  # the catalogue's copy landed in the order the counts changed
    assert (product.rating_count, product.rating_average) == (count, services.rating_summary(
        product_slug=slug).average)
