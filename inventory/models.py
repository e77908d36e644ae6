"""Stock per SKU and the ledger of every change to it. Tables live in the ``inventory`` schema."""

from django.db import models
from django.db.models import F, Q


class StockLevel(models.Model):
    """How many units of a SKU are on the shelf, and how many of those are promised to unpaid orders."""

    sku = models.CharField(max_length=64, unique=True)
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]
        permissions = [("adjust_stock", "Can receive and adjust stock")]
        constraints = [
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(on_hand__gte=F("reserved")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self):
        return f"{self.sku}: {self.on_hand} on hand, {self.reserved} reserved"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(models.Model):
    """One row of the stock ledger; the levels always equal the sums of their movements."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        ADJUSTMENT = "adjustment", "Adjustment"
        RESERVATION = "reservation", "Reservation"
        COMMIT = "commit", "Commit"
        RELEASE = "release", "Release"
        RETURN = "return", "Return"

    sku = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reference = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.CharField(max_length=255, blank=True)
    user_id = models.BigIntegerField(null=True, blank=True)  # the staff user, by id: auth is another app
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Newest first by id, which grows with time: the ledger takes a row per reservation, so it keeps to the
        # indexes it needs (sku, reference) and every insert stays cheap.
        ordering = ["-id"]

    def __str__(self):
        return f"{self.kind} {self.sku} on_hand{self.on_hand_delta:+d} reserved{self.reserved_delta:+d}"


class Reservation(models.Model):
    """Units of one SKU held for one reference (an order number) until it is paid, released or expires."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed"
        RELEASED = "released", "Released"

    reference = models.CharField(max_length=64)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "reference", "sku"]
        permissions = [("release_reservation", "Can release reservations")]
        constraints = [
            models.UniqueConstraint(fields=["reference", "sku"], name="reservation_one_row_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="reservation_live_expiry_idx", condition=Q(state="active")),
        ]

    def __str__(self):
        return f"{self.reference}: {self.quantity} x {self.sku} ({self.state})"


class FlashSale(models.Model):
    """A SKU put behind the admission gate (inventory.gate): the sale's settings live here, its tokens in Redis."""

    sku = models.CharField(max_length=64, unique=True)
    starts_at = models.DateTimeField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-starts_at"]
        permissions = [("run_flash_sale", "Can start and stop flash sales")]

    def __str__(self):
        return f"flash sale of {self.sku} from {self.starts_at:%Y-%m-%d %H:%M}"
