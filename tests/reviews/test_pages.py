"""The product page shows the rating and the newest reviews from its cache, and is rebuilt exactly when a published
review changes what it shows (not for a held review, a vote or a flag); the reviews page lists, sorts and takes a
verified buyer's review."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from reviews import services
from reviews.types import ReviewInput
from tests.factories import make_product
from tests.reviews.helpers import buy_too, buyer, stranger

pytestmark = pytest.mark.django_db


def queries(client, path):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def write(user, slug, rating=4, title="Good boots", body="Dry feet all week."):
    return services.review_create(product_slug=slug, user_id=user.pk, author_name=user.username,
                                  review=ReviewInput(rating=rating, title=title, body=body))


def test_the_cached_page_is_rebuilt_exactly_when_a_published_review_changes_it(client, on_commit, settings):
    settings.REVIEWS_HELD_WORDS = ["scam"]
    ada, slug, _, _ = buyer("ada")
    bob = stranger("bob")
    buy_too(bob, slug)
    other = make_product()
    page = f"/p/{slug}/"
    assert "No reviews yet" in client.get(page).content.decode()
    client.get(f"/p/{other.slug}/")
    assert queries(client, page) == 0
    with on_commit():
        mine = write(ada, slug, rating=5)
    text = client.get(page).content.decode()
    assert "Good boots" in text and "5.00" in text and "1 review" in text
    assert queries(client, page) == 0 and queries(client, f"/p/{other.slug}/") == 0  # others stay cached
    with on_commit():
        held = write(bob, slug, rating=1, title="A scam", body="Do not buy.")
        services.review_vote(review_id=mine.id, user_id=bob.pk, helpful=True)
        services.review_flag(review_id=mine.id, user_id=bob.pk, reason="spoilers")
    assert held.status == "pending" and held.held_because == "contains a held word (scam)"
    assert queries(client, page) == 0  # nothing it shows changed
    with on_commit():
        services.review_moderate(review_id=held.id, action="approve", reason="fair enough", staff_user_id=None)
    text = client.get(page).content.decode()
    assert "A scam" in text and "3.00" in text and "2 reviews" in text
    with on_commit():
        services.review_moderate(review_id=held.id, action="hide", reason="abusive after all", staff_user_id=None)
    text = client.get(page).content.decode()
    assert "A scam" not in text and "5.00" in text


def test_the_reviews_page_sorts_pages_and_takes_a_buyers_review(client):
    ada, slug, _, _ = buyer("ada")
    response = client.get(f"/p/{slug}/reviews/")
    assert response.status_code == 200 and "Sign in" in response.content.decode()
    shopper = Client()
    shopper.force_login(ada)
    assert "Write a review" in shopper.get(f"/p/{slug}/reviews/").content.decode()
    bad = shopper.post(f"/p/{slug}/reviews/", {"rating": "9", "title": "x", "body": "y"})
    assert bad.status_code == 200 and "from 1 to 5" in bad.content.decode()
    posted = shopper.post(f"/p/{slug}/reviews/", {"rating": "4", "title": "<i>Comfy</i>", "body": "Yes."})
    assert posted.status_code == 302
    text = client.get(f"/p/{slug}/reviews/?sort=lowest").content.decode()
    assert "&lt;i&gt;Comfy&lt;/i&gt;" in text and "Verified purchase" in text
    assert client.get(f"/p/{slug}/reviews/?sort=nonsense&page=x").status_code == 200
    assert client.get("/p/no-such-product/reviews/").status_code == 404
    edited = shopper.post(f"/p/{slug}/reviews/", {"rating": "2", "title": "Less comfy", "body": "Hm."})
    assert edited.status_code == 302
    assert services.rating_summary(product_slug=slug).distribution[2] == 1
    stranger_client = Client()
    stranger_client.force_login(stranger("bob"))
    assert "Only shoppers who bought" in stranger_client.get(f"/p/{slug}/reviews/").content.decode()
