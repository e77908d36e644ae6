"""The catalogue: a category tree, products, their variants (SKUs with prices) and images. Schema ``catalog``."""

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

sku_validator = RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "Letters, digits, dot, dash and underscore only.")


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self):
        return f"{self.parent} › {self.name}" if self.parent_id else self.name

    def get_absolute_url(self):
        return reverse("catalog:category", args=[self.slug])


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    is_active = models.BooleanField("active", default=True, help_text="Inactive products are hidden from shoppers.")
    is_featured = models.BooleanField("featured", default=False, help_text="Shown on the home page.")
    # A copy of the product's rating, set by the reviews app (through services.product_rating_set) in the
    # transaction of every review write that changes it: cards, sort=rating and min_rating read it here.
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True, editable=False)
    # Derived, kept current by services: the lowest variant price and whether any variant can be bought now.
    price_from = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, editable=False)
    in_stock = models.BooleanField(default=False, editable=False)
    # The search document: name (weight A), categories and variant attributes (B), description (C); and the
    # variants' attribute values as "name=value" (facets and filters without touching variants). Both kept by
    # services.product_refresh. Typos are corrected through SearchWord.
    search_document = SearchVectorField(null=True, editable=False)
    attribute_values = ArrayField(models.CharField(max_length=200), default=list, blank=True, editable=False)
    # The same values where they are small enough for a listing's covering index (product_listing_idx: a btree
    # entry holds at most 2,704 bytes), else NULL and a listing reads them from the row. Kept by a trigger from
    # attribute_values, whoever writes it (migration 0010).
    listing_attributes = ArrayField(models.CharField(max_length=200), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("activate_product", "Can show or hide products")]
        indexes = [
            GinIndex(fields=["search_document"], name="product_search_idx"),
            GinIndex(fields=["attribute_values"], name="product_attribute_values_idx"),
            models.Index(fields=["category", "is_active"]),
            models.Index(fields=["is_active", "price_from"]),
            models.Index(fields=["is_active", "name"]),
            # A listing's matches without words (a department, the whole shop) read from the index alone: every
            # column the count, the facets and the orders use, for the products a shopper may see. A department of
            # 20,000 products at 100,000 is 470 index pages instead of 12,600 of the table's (whose rows carry
            # the description and the search document). Every entry fits a btree's 2,704 bytes: a name of 200
            # characters is at most 800 bytes, listing_attributes at most about 1,600, the rest about 60.
            models.Index(fields=["category"], include=["id", "name", "price_from", "in_stock", "is_featured",
                                                        "created_at", "rating_average", "rating_count",
                                                        "listing_attributes"],
                         condition=models.Q(is_active=True, price_from__isnull=False), name="product_listing_idx"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("catalog:product", args=[self.slug])


class Variant(models.Model):
    """One thing a shopper can buy: a SKU with its attributes (size, colour…) and its price."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, unique=True, validators=[sku_validator])
    name = models.CharField(max_length=120, help_text="What tells it apart, e.g. “M / Navy”.")
    attributes = models.JSONField(default=dict, blank=True, help_text='e.g. {"size": "M", "colour": "Navy"}')
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))])
    currency = models.CharField(max_length=3, default=settings.STORE_CURRENCY)
    weight = models.DecimalField(max_digits=8, decimal_places=3, default=Decimal("0.000"),
                                 validators=[MinValueValidator(Decimal("0.000"))],
                                 help_text="Shipping weight in kg (shipping methods priced by weight read it).")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="variant_price_not_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="variant_currency_iso"),
        ]

    def __str__(self):
        return f"{self.sku} ({self.name})"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="products/")
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.alt_text or self.image.name


class SearchWord(models.Model):
    """The search lexicon: every word of the shop's product names, categories and attribute values, so a typo
    ("snekers") is corrected by trigram similarity against a few thousand words, not against every product.
    Kept by services.product_refresh; a word whose products are gone lingers harmlessly (it matches nothing)."""

    word = models.CharField(max_length=40, primary_key=True)

    class Meta:
        indexes = [GinIndex(fields=["word"], opclasses=["gin_trgm_ops"], name="search_word_trgm_idx")]

    def __str__(self):
        return self.word
