"""Reviews through the JSON API (docs/api.md): who may write, one per account, editing and deleting by the author,
votes, sorting, and every bad input a clear 4xx with nothing stored."""

import json

import pytest
from django.test import Client

from reviews.models import ProductRating, Review
from tests.reviews.helpers import buy_too, buyer, stranger

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, slug, data):
    return client.post(f"/api/v1/products/{slug}/reviews/", json.dumps(data), content_type="application/json")


GOOD = {"rating": 4, "title": "Warm and light", "body": "Wore it up the ridge in sleet; dry underneath."}


def test_a_verified_buyer_reviews_once_and_the_product_shows_it():
    user, slug, _, _ = buyer("ada")
    client = signed_in(user)
    created = post(client, slug, GOOD)
    assert created.status_code == 201, created.content
    review = created.json()
    assert review["rating"] == 4 and review["verified_purchase"] is True and review["status"] == "published"
    again = post(client, slug, {**GOOD, "rating": 5})
    assert again.status_code == 409 and again.json()["code"] == "already_reviewed"
    listing = client.get(f"/api/v1/products/{slug}/reviews/").json()
    assert listing["count"] == 1 and listing["average"] == "4.00"
    assert listing["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
    assert [r["title"] for r in listing["results"]] == ["Warm and light"]
    page = Client().get(f"/p/{slug}/").content.decode()
    assert "Warm and light" in page and "Verified purchase" in page and "4.00" in page


def test_only_a_signed_in_buyer_of_the_product_may_review_it():
    _, slug, _, _ = buyer("ada")
    anonymous = post(Client(), slug, GOOD)
    assert anonymous.status_code == 403 and anonymous.json()["code"] == "not_signed_in"
    other = post(signed_in(stranger("bob")), slug, GOOD)
    assert other.status_code == 403 and other.json()["code"] == "not_verified"
    unknown = post(signed_in(stranger("cy")), "no-such-product", GOOD)
    assert unknown.status_code == 404 and unknown.json()["code"] == "product_not_found"
    assert Review.objects.count() == 0 and not ProductRating.objects.exists()


def test_a_refunded_order_does_not_verify_a_purchase():
    from orders import services as order_services

    user, slug, _, number = buyer("ada")
    order_services.order_refund(number=number)
    response = post(signed_in(user), slug, GOOD)
    assert response.status_code == 403 and response.json()["code"] == "not_verified"


BAD = [
    ({**GOOD, "rating": 0}, "rating"), ({**GOOD, "rating": 6}, "rating"), ({**GOOD, "rating": "4"}, "rating"),
    ({**GOOD, "rating": 4.5}, "rating"), ({**GOOD, "rating": True}, "rating"), ({"title": "x", "body": "y"}, "rating"),
    ({**GOOD, "title": ""}, "title"), ({**GOOD, "title": "   "}, "title"), ({**GOOD, "title": "x" * 121}, "title"),
    ({**GOOD, "body": ""}, "body"), ({**GOOD, "body": "x" * 5001}, "body"), ({**GOOD, "body": 7}, "body"),
]


@pytest.mark.parametrize(("data", "field"), BAD, ids=lambda v: str(v)[:30])
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(data, field):
    user, slug, _, _ = buyer("ada")
    response = post(signed_in(user), slug, data)
    assert response.status_code == 400 and response.json()["code"] == "invalid_review"
    assert response.json()["field"] == field
    assert Review.objects.count() == 0


def test_a_body_that_is_no_object_is_a_400():
    user, slug, _, _ = buyer("ada")
    response = signed_in(user).post(f"/api/v1/products/{slug}/reviews/", "[1]", content_type="application/json")
    assert response.status_code == 400


def test_markup_is_shown_as_text():
    user, slug, _, _ = buyer("ada")
    assert post(signed_in(user), slug, {**GOOD, "title": "<script>alert(1)</script>",
                                        "body": "<b>bold</b>"}).status_code == 201
    page = Client().get(f"/p/{slug}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_the_author_edits_and_deletes_and_no_one_else_may():
    user, slug, _, _ = buyer("ada")
    review_id = post(signed_in(user), slug, GOOD).json()["id"]
    other = signed_in(stranger("bob"))
    url = f"/api/v1/reviews/{review_id}/"
    assert other.put(url, json.dumps({**GOOD, "rating": 1}), content_type="application/json").json()["code"] == \
        "not_your_review"
    assert other.delete(url).status_code == 403
    edited = signed_in(user).put(url, json.dumps({**GOOD, "rating": 2}), content_type="application/json")
    assert edited.status_code == 200 and edited.json()["rating"] == 2
    assert Client().get(f"/api/v1/products/{slug}/reviews/").json()["distribution"]["2"] == 1
    assert signed_in(user).delete(url).status_code == 204
    listing = Client().get(f"/api/v1/products/{slug}/reviews/").json()
    assert listing["count"] == 0 and listing["average"] is None and listing["results"] == []
    assert signed_in(user).delete(url).json()["code"] == "review_not_found"
    for junk in ("x", "9" * 30, "-1", "１２"):  # no id, past a bigint, negative, full-width digits
        missing = signed_in(user).put(f"/api/v1/reviews/{junk}/", json.dumps(GOOD), content_type="application/json")
        assert missing.status_code == 404 and missing.json()["code"] == "review_not_found"
        assert Client().post(f"/api/v1/reviews/{junk}/vote/", "{}", content_type="application/json").status_code \
            in (403, 404)


def test_votes_are_one_per_account_changeable_and_idempotent_and_sort_the_reviews():
    ada, slug, _, _ = buyer("ada")
    bob = stranger("bob")
    buy_too(bob, slug)
    first = post(signed_in(ada), slug, {**GOOD, "rating": 5, "title": "First"}).json()["id"]
    second = post(signed_in(bob), slug, {**GOOD, "rating": 2, "title": "Second"}).json()["id"]
    voter = signed_in(stranger("cy"))

    def vote(review_id, helpful):
        return voter.post(f"/api/v1/reviews/{review_id}/vote/", json.dumps({"helpful": helpful}),
                          content_type="application/json")

    assert vote(first, True).json()["helpful"] == 1
    assert vote(first, True).json()["helpful"] == 1  # again: no change
    changed = vote(first, False).json()
    assert (changed["helpful"], changed["unhelpful"]) == (0, 1)
    assert vote(second, True).json()["helpful"] == 1
    assert vote(second, "yes").status_code == 400
    titles = {sort: [r["title"] for r in Client().get(f"/api/v1/products/{slug}/reviews/",
                                                      {"sort": sort}).json()["results"]]
              for sort in ("helpful", "newest", "highest", "lowest")}
    assert titles == {"helpful": ["Second", "First"], "newest": ["Second", "First"],
                      "highest": ["First", "Second"], "lowest": ["Second", "First"]}
    bad = Client().get(f"/api/v1/products/{slug}/reviews/", {"sort": "random"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_sort"
    assert Client().get(f"/api/v1/products/{slug}/reviews/", {"page": "0"}).status_code == 400
    anonymous = Client().post(f"/api/v1/reviews/{first}/vote/", json.dumps({"helpful": True}),
                              content_type="application/json")
    assert anonymous.status_code == 403


def test_cards_and_product_bodies_show_the_rating_and_listings_sort_and_filter_by_it(on_commit):
    from tests.factories import make_product

    ada, loved, _, _ = buyer("ada")
    bob, meh, _, _ = buyer("bob")
    unrated = make_product(name="Unrated Thing").slug
    with on_commit():  # the catalogue's cached bodies and cards are rebuilt after commit
        assert post(signed_in(ada), loved, {**GOOD, "rating": 5}).status_code == 201
        assert post(signed_in(bob), meh, {**GOOD, "rating": 3}).status_code == 201
    body = Client().get(f"/api/v1/products/{loved}/").json()
    assert body["rating"] == {"average": "5.00", "count": 1}
    assert Client().get(f"/api/v1/products/{unrated}/").json()["rating"] == {"average": None, "count": 0}
    by_rating = Client().get("/api/v1/products/", {"sort": "rating"}).json()["results"]
    assert [c["slug"] for c in by_rating][:3] == [loved, meh, unrated]
    assert by_rating[0]["rating"] == {"average": "5.00", "count": 1}
    four_up = Client().get("/api/v1/products/", {"min_rating": "4"}).json()
    assert [c["slug"] for c in four_up["results"]] == [loved]
    for bad in ("0", "6", "x", "nan"):
        response = Client().get("/api/v1/products/", {"min_rating": bad})
        assert response.status_code == 400 and response.json()["param"] == "min_rating"
    listing = Client().get("/c/gear/", {"min_rating": "4"}).content.decode()
    assert "★★★★★" in listing and "4 stars &amp; up" in listing
