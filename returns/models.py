"""Returns: a shopper's request to send units of an order back, its lines (requested, received, restocked) and its
history. Tables live in the ``returns`` schema; the order is named by its number, never pointed into."""

from django.db import models
from django.db.models import F, Q


class Return(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        RECEIVED = "received", "Received"
        REFUNDED = "refunded", "Refunded"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    class Reason(models.TextChoices):
        CHANGED_MIND = "changed_mind", "Changed my mind"
        DAMAGED = "damaged", "Arrived damaged"
        WRONG_ITEM = "wrong_item", "Wrong item sent"
        NOT_AS_DESCRIBED = "not_as_described", "Not as described"
        ARRIVED_LATE = "arrived_late", "Arrived too late"
        OTHER = "other", "Other"

    number = models.CharField(max_length=20, unique=True)
    order_number = models.CharField(max_length=20, db_index=True)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # the order's shopper, by id
    email = models.EmailField()
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REQUESTED, db_index=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(max_length=1000, blank=True)  # the shopper's words
    staff_note = models.CharField(max_length=255, blank=True)  # why it was rejected: the shopper is told
    fee = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # restocking fee taken off the refund
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Each step staff take on a return (returns/admin.py, the returns command's users): deciding, receiving the
        # parcel (stock moves), refunding (money moves).
        permissions = [
            ("approve_return", "Can approve or reject returns"),
            ("receive_return", "Can mark returns received"),
            ("refund_return", "Can refund returns"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(refund_amount__gte=0) | Q(refund_amount__isnull=True),
                                   name="return_refund_not_negative"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="return_fee_not_negative"),
        ]

    def __str__(self):
        return self.number


class ReturnLine(models.Model):
    """Units of one SKU of the order sent back: asked for, arrived, and of those put back on the shelf (the rest
    were written off as damaged)."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)  # as paid on the order
    quantity = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    restocked = models.PositiveIntegerField(default=0)
    # what the shopper paid for the units received, to the cent, as the order counted them at receipt (the refund's
    # goods; unit_price x received could be a cent off a line's cost); None for a return received before it was kept
    paid = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["ret", "sku"], name="return_line_one_per_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_positive"),
            models.CheckConstraint(condition=Q(received__lte=F("quantity")), name="return_line_received_within"),
            models.CheckConstraint(condition=Q(restocked__lte=F("received")), name="return_line_restocked_within"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.sku}"


class ReturnEvent(models.Model):
    """The return's history: every status it entered, when, and why."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=Return.Status.choices)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.ret.number} -> {self.status}"
