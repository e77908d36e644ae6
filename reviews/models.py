"""Reviews: a verified buyer's rating and words about a product, the votes and flags shoppers give them, the
staff's moderation log, and each product's precomputed rating (count, sum, 1-5 distribution). Tables live in the
``reviews`` schema; the product is named by its slug and the shopper by their account id, never pointed into."""

from django.db import models
from django.db.models import F, Q

MAX_TITLE = 120
MAX_BODY = 5000


class Review(models.Model):
    class Status(models.TextChoices):
        PUBLISHED = "published", "Published"
        PENDING = "pending", "Held for moderation"
        HIDDEN = "hidden", "Hidden by staff"

    product_slug = models.CharField(max_length=255)
    user_id = models.BigIntegerField()
    author_name = models.CharField(max_length=60)
    sku = models.CharField(max_length=64, help_text="the variant the author bought")
    variant_name = models.CharField(max_length=200, blank=True)
    rating = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=MAX_TITLE)
    body = models.TextField(max_length=MAX_BODY)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PUBLISHED)
    held_because = models.CharField(max_length=200, blank=True, help_text="the rule that held it for staff")
    moderation_reason = models.CharField(max_length=500, blank=True, help_text="the staff's reason, if any")
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)
    flag_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product_slug", "user_id"], name="review_one_per_product_per_account"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"),
        ]
        indexes = [
            models.Index(fields=["product_slug", "status", "-helpful_count", "-id"], name="review_helpful_idx"),
            models.Index(fields=["product_slug", "status", "-id"], name="review_newest_idx"),
            models.Index(fields=["product_slug", "status", "-rating", "-id"], name="review_rating_idx"),
            models.Index(fields=["status", "-flag_count"], name="review_moderation_idx"),
        ]
        permissions = [("approve_review", "Can approve held reviews"), ("hide_review", "Can hide reviews")]

    def __str__(self):
        return f"{self.rating}★ {self.title} ({self.product_slug})"


class ReviewVote(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    user_id = models.BigIntegerField()
    helpful = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "user_id"], name="review_vote_one_per_account")]

    def __str__(self):
        return f"{'helpful' if self.helpful else 'not helpful'}: review {self.review_id} by {self.user_id}"


class ReviewFlag(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="flags")
    user_id = models.BigIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "user_id"], name="review_flag_one_per_account")]

    def __str__(self):
        return f"flag on review {self.review_id} by {self.user_id}"


class ModerationEvent(models.Model):
    """What staff did to a review and why (kept after a deletion, so it names the review by id)."""

    review_id = models.BigIntegerField(db_index=True)
    product_slug = models.CharField(max_length=255)
    action = models.CharField(max_length=12)  # approved, hidden, deleted
    reason = models.CharField(max_length=500)
    staff_user_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"review {self.review_id} {self.action}: {self.reason}"


class ProductRating(models.Model):
    """A product's published reviews, precomputed in the transaction of every write that changes them."""

    product_slug = models.CharField(max_length=255, unique=True)
    count = models.PositiveIntegerField(default=0)
    rating_sum = models.PositiveIntegerField(default=0)
    stars_1 = models.PositiveIntegerField(default=0)
    stars_2 = models.PositiveIntegerField(default=0)
    stars_3 = models.PositiveIntegerField(default=0)
    stars_4 = models.PositiveIntegerField(default=0)
    stars_5 = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(count=F("stars_1") + F("stars_2") + F("stars_3") + F("stars_4") + F("stars_5")),
                name="rating_count_is_the_distribution"),
            models.CheckConstraint(
                condition=Q(rating_sum=F("stars_1") + 2 * F("stars_2") + 3 * F("stars_3") + 4 * F("stars_4")
                            + 5 * F("stars_5")),
                name="rating_sum_is_the_distribution"),
        ]

    def __str__(self):
        return f"{self.product_slug}: {self.count} reviews"
