"""A hypothesis state machine against a dictionary model: shoppers write, edit (sometimes with a link, which holds
the review) and delete their reviews while staff approve, hide and delete them. After every step the product's
precomputed rating, the catalogue's copy of it and a recount all equal the model's published reviews."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from catalog.models import Product
from reviews import services
from reviews.models import ModerationEvent, ProductRating, Review
from reviews.types import AlreadyReviewed, ReviewInput, ReviewNotFound
from tests.reviews.helpers import buy_too, buyer, stranger

SHOPPERS = 4
stars = st.integers(min_value=1, max_value=5)
who = st.integers(min_value=0, max_value=SHOPPERS - 1)


class ReviewLife(RuleBasedStateMachine):
    users: list = []
    slug = ""

    @initialize()
    def start(self):
        Review.objects.all().delete()
        ProductRating.objects.all().delete()
        ModerationEvent.objects.all().delete()
        Product.objects.filter(slug=self.slug).update(rating_count=0, rating_average=None)
        self.model: dict[int, tuple[str, int]] = {}  # shopper -> (status, rating)

    def _id(self, i):
        row = Review.objects.filter(product_slug=self.slug, user_id=self.users[i].pk).first()
        return row.id if row else None

    @rule(i=who, rating=stars, held=st.booleans())
    def write(self, i, rating, held):
        body = "See http://example.com" if held else "Fine."
        try:
            services.review_create(product_slug=self.slug, user_id=self.users[i].pk, author_name="s",
                                   review=ReviewInput(rating=rating, title="T", body=body))
        except AlreadyReviewed:
            assert i in self.model
            return
        assert i not in self.model
        self.model[i] = ("pending" if held else "published", rating)

    @rule(i=who, rating=stars, link=st.booleans())
    def edit(self, i, rating, link):
        review_id = self._id(i)
        if review_id is None:
            assert i not in self.model
            return
        services.review_update(review_id=review_id, user_id=self.users[i].pk,
                               review=ReviewInput(rating=rating, title="T", body="www.x" if link else "Ok."))
        status = self.model[i][0]
        self.model[i] = (status if status == "hidden" else "pending" if link else "published", rating)

    @rule(i=who, action=st.sampled_from(["approve", "hide", "delete"]))
    def moderate(self, i, action):
        review_id = self._id(i)
        if review_id is None:
            with pytest.raises(ReviewNotFound):
                services.review_moderate(review_id=10**12, action=action, reason="r", staff_user_id=None)
            return
        services.review_moderate(review_id=review_id, action=action, reason="r", staff_user_id=None)
        if action == "delete":
            del self.model[i]
        else:
            self.model[i] = ("published" if action == "approve" else "hidden", self.model[i][1])

    @rule(i=who)
    def delete(self, i):
        review_id = self._id(i)
        if review_id is not None:
            services.review_delete(review_id=review_id, user_id=self.users[i].pk)
            del self.model[i]

    @invariant()
    def the_rating_is_the_model_s(self):
        published = [rating for status, rating in self.model.values() if status == "published"]
        summary = services.rating_summary(product_slug=self.slug)
        assert (summary.count, summary.rating_sum) == (len(published), sum(published))
        assert summary.distribution == {n: published.count(n) for n in range(1, 6)}
        product = Product.objects.get(slug=self.slug)
        assert product.rating_count == len(published)
        assert product.rating_average == summary.average
        assert services.ratings_recount(fix=False) == []


@pytest.mark.django_db(transaction=True)
def test_the_rating_equals_a_recount_after_any_sequence_of_writes_and_moderation(settings):
    settings.RATE_LIMITS = {}
    first, slug, _, _ = buyer("shopper0")
    users = [first]
    for n in range(1, SHOPPERS):
        user = stranger(f"shopper{n}")
        buy_too(user, slug)
        users.append(user)
    ReviewLife.users, ReviewLife.slug = users, slug
    run_state_machine_as_test(ReviewLife, settings=hypothesis_settings(
        max_examples=30, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
