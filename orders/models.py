"""Orders, their lines (snapshots of what was bought, at the price paid), their history, and checkout requests
by Idempotency-Key. Tables live in the ``orders`` schema; nothing points into another app's tables."""

from django.db import models
from django.db.models import F, Q


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        PAID = "paid", "Paid"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    number = models.CharField(max_length=20, unique=True)
    email = models.EmailField()
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)  # the shopper, by id (auth is not ours)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    shipping = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_address = models.JSONField()
    access_token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # What staff may do to an order beyond looking at it: each moves money or stock (see orders/admin.py).
        permissions = [
            ("cancel_order", "Can cancel orders"),
            ("refund_order", "Can refund orders"),
            ("ship_order", "Can mark orders shipped"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0) & Q(subtotal__gte=0), name="order_totals_not_negative"),
        ]

    def __str__(self):
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    # Units of this line put back on the shelf by refunds so far: what is left to return is quantity - this.
    # Written only under the order's row lock (orders.services.order_refund).
    returned_quantity = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(returned_quantity__lte=F("quantity")),
                                   name="order_line_returned_within_quantity"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.sku}"


class OrderRefund(models.Model):
    """A refund's bookkeeping on the order, by the refund's key: written in the transaction that puts its units back
    on the shelf, so a refund whose process died after the money moved is finished by sending it again, and its
    units go back once."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    restocked = models.JSONField(default=dict, blank=True)  # SKU -> units put back by this refund
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order.number}: refund {self.amount} ({self.key})"


class OrderEvent(models.Model):
    """The order's history: every status it entered, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=20, choices=Order.Status.choices)
    note = models.CharField(max_length=255, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order.number} -> {self.status}"


class CheckoutRequest(models.Model):
    """One Idempotency-Key of one owner (orders/idempotency.py): the request it came with (by hash), the order it
    made, and, once final, the answer it got."""

    owner = models.CharField(max_length=64, default="")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    order_number = models.CharField(max_length=20, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="checkout_request_key_per_owner")]

    def __str__(self):
        return self.key
