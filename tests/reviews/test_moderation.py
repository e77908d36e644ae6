"""Moderation: the rules that hold a review for staff, staff approving, hiding and deleting with a reason (each
action behind its own permission, given to the shipped roles), flags surfacing in the admin, and the recount
command."""

import pytest
from django.core.management import CommandError, call_command

from reviews import services
from reviews.models import ModerationEvent, ProductRating, Review
from reviews.types import ReviewInput
from tests.reviews.helpers import buy_too, buyer, stranger

pytestmark = pytest.mark.django_db


def write(user, slug, *, rating=4, title="Solid", body="Does the job."):
    return services.review_create(product_slug=slug, user_id=user.pk, author_name=user.username,
                                  review=ReviewInput(rating=rating, title=title, body=body))


@pytest.mark.parametrize(("title", "body", "held"), [
    ("Great", "See https://spam.example/deal", "contains a link"),
    ("Great", "Cheaper at www.example", "contains a link"),
    ("Great", "Order at cheapgear.com now", "contains a link"),
    ("Total SCAM", "Fine.", "contains a held word (scam)"),
    ("Scampi-proof", "Kept my scampi cold.", ""),  # whole words only
    ("Great", "Warm, light, packs small.", ""),
])
def test_links_and_held_words_hold_a_review_out_of_the_rating(settings, title, body, held):
    settings.REVIEWS_HELD_WORDS = ["scam"]
    user, slug, _, _ = buyer("ada")
    review = write(user, slug, title=title, body=body)
    assert review.held_because == held
    assert review.status == ("pending" if held else "published")
    assert services.rating_summary(product_slug=slug).count == (0 if held else 1)


def test_a_first_time_author_waits_for_staff_when_the_setting_says_so(settings):
    settings.REVIEWS_HOLD_FIRST_TIME_AUTHORS = True
    user, slug, _, _ = buyer("ada")
    first = write(user, slug)
    assert first.status == "pending" and first.held_because == "the author's first review"
    services.review_moderate(review_id=first.id, action="approve", reason="fine", staff_user_id=None)
    _, other_slug, _, _ = buyer("bob")
    buy_too(user, other_slug)
    assert write(user, other_slug).status == "published"  # published before: no longer a first-timer


def test_an_edit_that_adds_a_link_is_held_and_leaves_the_rating():
    user, slug, _, _ = buyer("ada")
    review = write(user, slug, rating=5)
    edited = services.review_update(review_id=review.id, user_id=user.pk,
                                    review=ReviewInput(rating=5, title="Solid", body="More at http://x.example"))
    assert edited.status == "pending" and services.rating_summary(product_slug=slug).count == 0


def moderate(client, review_id, action, reason="Breaks the rules"):
    changelist = "/admin/reviews/review/"
    asked = client.post(changelist, {"action": f"{action}_reviews", "_selected_action": [review_id]})
    if asked.status_code != 200 or b"Reason" not in asked.content:
        return asked
    return client.post(changelist, {"action": f"{action}_reviews", "_selected_action": [review_id],
                                    "apply": "1", "reason": reason})


def test_support_approves_and_hides_with_a_reason_and_only_a_manager_deletes(staff_login, settings):
    settings.REVIEWS_HELD_WORDS = ["scam"]
    user, slug, _, _ = buyer("ada")
    review = write(user, slug, rating=2, title="A scam?")
    support, manager = staff_login("sue", "Support"), staff_login("max", "Manager")
    assert support.get("/admin/reviews/review/").status_code == 200
    assert moderate(support, review.id, "approve", reason="").status_code == 200  # no reason: asked again
    assert Review.objects.get(id=review.id).status == "pending"
    moderate(support, review.id, "approve", reason="Fair criticism")
    assert Review.objects.get(id=review.id).status == "published"
    assert services.rating_summary(product_slug=slug).count == 1
    moderate(support, review.id, "hide", reason="Names a staff member")
    assert Review.objects.get(id=review.id).status == "hidden"
    assert services.rating_summary(product_slug=slug).count == 0
    refused = moderate(support, review.id, "delete")
    assert Review.objects.filter(id=review.id).exists(), refused
    moderate(manager, review.id, "delete", reason="Asked by the author")
    assert not Review.objects.filter(id=review.id).exists()
    log = list(ModerationEvent.objects.order_by("id").values_list("action", "reason"))
    assert log == [("approved", "Fair criticism"), ("hidden", "Names a staff member"),
                   ("deleted", "Asked by the author")]
    shopper_page = staff_login("cat").get("/admin/reviews/review/")  # staff without the role: nothing to see
    assert shopper_page.status_code == 403


def test_flags_are_one_per_account_and_flagged_reviews_come_first_in_the_admin(staff_login):
    ada, slug, _, _ = buyer("ada")
    bob = stranger("bob")
    buy_too(bob, slug)
    quiet = write(bob, slug, title="Quiet one")
    flagged = write(ada, slug, title="Flagged one")
    cy, di = stranger("cy"), stranger("di")
    for user in (cy, di, cy):  # cy twice: still one flag
        services.review_flag(review_id=flagged.id, user_id=user.pk, reason="rude")
    assert Review.objects.get(id=flagged.id).flag_count == 2
    page = staff_login("sue", "Support").get("/admin/reviews/review/").content.decode()
    assert page.index("Flagged one") < page.index("Quiet one")
    assert quiet.id


def test_recount_reports_and_fixes_a_rating_that_drifted(capsys):
    user, slug, _, _ = buyer("ada")
    write(user, slug, rating=4)
    call_command("reviews", "recount")
    assert "every product rating equals a recount" in capsys.readouterr().out
    ProductRating.objects.filter(product_slug=slug).update(count=2, rating_sum=9, stars_5=1)
    with pytest.raises(CommandError, match="1 product rating"):
        call_command("reviews", "recount")
    assert f"{slug}: stored count=2" in capsys.readouterr().out
    assert services.rating_summary(product_slug=slug).count == 1
    call_command("reviews", "recount")


def test_sample_reviews_are_written_by_buyers_only_and_once(capsys):
    ada, slug, _, _ = buyer("ada")
    stranger("bob")  # bought nothing: writes nothing
    call_command("reviews", "seed", "--share", "1")
    assert "wrote 1 sample reviews" in capsys.readouterr().out
    review = Review.objects.get()
    assert (review.user_id, review.product_slug) == (ada.pk, slug) and 1 <= review.rating <= 5
    call_command("reviews", "seed", "--share", "1")
    assert "wrote 0 sample reviews" in capsys.readouterr().out
    with pytest.raises(CommandError, match="share"):
        call_command("reviews", "seed", "--share", "2")
    call_command("reviews", "recount")


def test_first_run_seeding_writes_sample_reviews_only_while_the_shop_has_none(capsys):
    ada, _, _, _ = buyer("ada")
    call_command("reviews", "seed", "--if-empty", "--share", "1")  # as make run calls it: the shop has no review
    assert "wrote 1 sample reviews" in capsys.readouterr().out
    buyer("bob")  # another buyer since: a later start leaves the shop's reviews as they are
    call_command("reviews", "seed", "--if-empty", "--share", "1")
    assert "nothing to seed" in capsys.readouterr().out
    assert list(Review.objects.values_list("user_id", flat=True)) == [ada.pk]
