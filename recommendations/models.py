"""Recommendations: what this app has learned from paid orders (each order's basket as it counts it now, how often
each product and each pair of products was bought), and the precomputed lists the pages and the API serve. Tables
live in the ``recommendations`` schema; products are named by slug, never pointed into."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Purchase(models.Model):
    """An order as the recommender counts it: the products it holds while it is paid and not given back (empty
    once refunded in full). Incremental updates move the counts from the basket stored here to the new one."""

    order_number = models.CharField(max_length=40, unique=True)
    products = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    paid_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.order_number}: {len(self.products)} products"


class ProductCount(models.Model):
    """How many counted orders hold the product (popularity, overall and per category)."""

    product_slug = models.CharField(max_length=255, unique=True)
    category_slug = models.CharField(max_length=140)
    orders = models.IntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(orders__gte=0), name="recs_product_count_not_negative")]
        indexes = [models.Index(fields=["category_slug", "-orders"], name="recs_popular_in_category_idx"),
                   models.Index(fields=["-orders"], name="recs_popular_idx")]

    def __str__(self):
        return f"{self.product_slug}: {self.orders}"


class PairCount(models.Model):
    """How many counted orders hold both products; kept in both directions, so a product's index range is its
    co-purchase list (ranked when served)."""

    product_slug = models.CharField(max_length=255)
    other_slug = models.CharField(max_length=255)
    orders = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["product_slug", "other_slug"], name="recs_pair_once"),
            models.CheckConstraint(condition=Q(orders__gte=0), name="recs_pair_count_not_negative"),
        ]

    def __str__(self):
        return f"{self.product_slug} + {self.other_slug}: {self.orders}"


class RecommendationList(models.Model):
    """A precomputed list, best first, as ``[[slug, score], …]``: ``viewed:<product>`` (co-view),
    ``similar:<product>`` (catalogue data), ``popular:<category>`` and ``popular:*``. A page reads the rows it
    needs, and its co-purchase list from PairCount, in one query (selectors.lists)."""

    key = models.CharField(max_length=300, unique=True)
    items = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.key


class VisitorViews(models.Model):
    """The products a visitor (a hash of their session, never the session itself) viewed last, newest last: each
    new view pairs with these."""

    visitor = models.CharField(max_length=32, unique=True)
    products = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    def __str__(self):
        return f"{self.visitor}: {len(self.products)} products"


class CoViewCount(models.Model):
    """How many times a visitor viewed both products (one after the other, within their last VIEW_HISTORY
    products); kept in both directions."""

    product_slug = models.CharField(max_length=255)
    other_slug = models.CharField(max_length=255)
    views = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product_slug", "other_slug"], name="recs_coview_once")]

    def __str__(self):
        return f"{self.product_slug} + {self.other_slug}: {self.views}"
