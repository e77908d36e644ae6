"""What delivering to an address costs: shipping methods with their price bands, and the tax rates per country or
region. Tables live in the ``shipping`` schema; staff keep them in the admin (shipping/admin.py)."""

from decimal import Decimal

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

country_code = RegexValidator(r"^[A-Z]{2}$", "An ISO 3166 two-letter country code in capitals, e.g. US.")
NOT_NEGATIVE = [MinValueValidator(Decimal("0.00"))]


class ShippingMethod(models.Model):
    class Basis(models.TextChoices):
        SUBTOTAL = "subtotal", "Order subtotal"
        WEIGHT = "weight", "Order weight (kg)"

    code = models.SlugField(max_length=40, unique=True, help_text="What the API and checkout name it by, e.g. "
                                                                   "“standard”.")
    name = models.CharField(max_length=100)
    countries = ArrayField(models.CharField(max_length=2, validators=[country_code]), blank=True, default=list,
                           help_text="Where it delivers: two-letter codes, comma separated; empty = everywhere.")
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=NOT_NEGATIVE,
                                help_text="The price when no band below applies.")
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.SUBTOTAL,
                             help_text="What the bands below are measured by.")
    free_over = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                    validators=NOT_NEGATIVE,
                                    help_text="Free when the subtotal (after discounts) is at least this; empty = "
                                              "never free.")
    estimate = models.CharField(max_length=60, blank=True, help_text="e.g. “3–5 business days”.")
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_method_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"


class ShippingBand(models.Model):
    """From ``starts_at`` (subtotal or kg, by the method's basis) upwards the method costs ``price`` — up to the
    next band's start."""

    method = models.ForeignKey(ShippingMethod, on_delete=models.CASCADE, related_name="bands")
    starts_at = models.DecimalField(max_digits=12, decimal_places=3, validators=NOT_NEGATIVE)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=NOT_NEGATIVE)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["method", "starts_at"], name="shipping_band_start_once"),
            models.CheckConstraint(condition=Q(price__gte=0) & Q(starts_at__gte=0),
                                   name="shipping_band_not_negative"),
        ]

    def __str__(self):
        return f"{self.method.code} from {self.starts_at}: {self.price}"


class TaxRate(models.Model):
    """The tax charged on deliveries to a country, or to one region of it (a region's rate wins over its
    country's)."""

    country = models.CharField(max_length=2, validators=[country_code])
    region = models.CharField(max_length=10, blank=True, help_text="e.g. OR for Oregon; empty = the whole country.")
    name = models.CharField(max_length=40, default="Tax", help_text="How the receipt names it, e.g. VAT.")
    rate = models.DecimalField(max_digits=6, decimal_places=3, help_text="Percent, e.g. 20 for 20%.",
                               validators=[MinValueValidator(Decimal("0"))])
    prices_include_tax = models.BooleanField(default=False, help_text="Catalogue prices already include it "
                                                                      "(shown as “incl.”, not added).")
    applies_to_shipping = models.BooleanField(default=True)

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="tax_rate_once_per_place"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rate_percent"),
        ]

    def __str__(self):
        return f"{self.country}{'-' + self.region if self.region else ''}: {self.rate}%"


class SavedAddress(models.Model):
    """A signed-in shopper's address book entry (by user id: accounts are not ours). At most one is their default
    shipping address."""

    user_id = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=60, blank=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, validators=[country_code])
    phone = models.CharField(max_length=30, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [models.UniqueConstraint(fields=["user_id"], condition=Q(is_default=True),
                                               name="saved_address_one_default")]

    def __str__(self):
        return f"{self.name}, {self.city} ({self.country})"
