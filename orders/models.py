"""Orders, their lines (snapshots of what was bought, at the price paid), their history, and checkout requests
by Idempotency-Key. Tables live in the ``orders`` schema; nothing points into another app's tables."""

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper


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
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # the promo code's, off the lines
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # lines' and shipping's
    tax_included = models.BooleanField(default=False)  # the prices held the tax: it is shown, not added to the total
    tax_name = models.CharField(max_length=40, default="Tax")  # as the rate named it then ("VAT"), for the receipt
    # total = subtotal - discount + shipping + (tax unless tax_included): what the payment provider was asked for
    total = models.DecimalField(max_digits=12, decimal_places=2)
    shipping_method = models.CharField(max_length=40, blank=True)  # its code and name as they were at checkout
    shipping_method_name = models.CharField(max_length=100, blank=True)
    promo_code = models.CharField(max_length=40, blank=True)
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
            # what the order's rows' (order_number, order_id) foreign keys point at
            models.UniqueConstraint(fields=["number", "id"], name="order_number_id"),
        ]
        indexes = [
            # the guest orders a confirmed address claims at each log-in (order_claim_guest_orders: email__iexact)
            models.Index(Upper("email"), condition=Q(user_id__isnull=True), name="order_guest_email_upper"),
        ]

    def __str__(self):
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # The order's number beside its id, the plan's distribution column (docs/SCALING.md): an order's rows shard
    # together. A foreign key on (order_number, order_id) keeps both naming the same order (migration 0010).
    order_number = models.CharField(max_length=20, editable=False)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=300)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # its share of the order's discount
    tax = models.DecimalField(max_digits=12, decimal_places=2, default=0)  # on line_total - discount
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
    # The order's number beside its id, the plan's distribution column (docs/SCALING.md): an order's rows shard
    # together. A foreign key on (order_number, order_id) keeps both naming the same order (migration 0010).
    order_number = models.CharField(max_length=20, editable=False)
    key = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    restocked = models.JSONField(default=dict, blank=True)  # SKU -> units put back by this refund
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order.number}: refund {self.amount} ({self.key})"


class OrderEmail(models.Model):
    """An e-mail the shopper was sent about an order, by a key naming what it told them ("refund:<refund key>",
    "shipped", …): written in the transaction that sends it, so an event announced or delivered again sends nothing
    more (orders/subscribers.py)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    # The order's number beside its id, the plan's distribution column (docs/SCALING.md): an order's rows shard
    # together. A foreign key on (order_number, order_id) keeps both naming the same order (migration 0010).
    order_number = models.CharField(max_length=20, editable=False)
    key = models.CharField(max_length=150, unique=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return self.key


class OrderEvent(models.Model):
    """The order's history: every status it entered, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    # The order's number beside its id, the plan's distribution column (docs/SCALING.md): an order's rows shard
    # together. A foreign key on (order_number, order_id) keeps both naming the same order (migration 0010).
    order_number = models.CharField(max_length=20, editable=False)
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


class PromoCode(models.Model):
    """A code a shopper enters for a discount. ``uses`` counts the orders it is on that were not cancelled or fully
    refunded; the checkout's one statement that creates the order counts it, and only while under ``max_uses`` (and
    the shopper's PromoCodeUse under ``max_uses_per_customer``), so the last use goes to exactly one order."""

    class Kind(models.TextChoices):
        PERCENT = "percent", "Percent off"
        AMOUNT = "amount", "Amount off"

    code = models.CharField(max_length=40, unique=True, help_text="Stored in capitals; shoppers may type any case.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.DecimalField(max_digits=12, decimal_places=2, help_text="Percent (e.g. 10) or an amount.")
    products = ArrayField(models.CharField(max_length=220), blank=True, default=list,
                          help_text="Product slugs it applies to (comma separated); with categories empty too, the "
                                    "whole order.")
    categories = ArrayField(models.CharField(max_length=220), blank=True, default=list,
                            help_text="Category slugs it applies to (a category's subcategories included).")
    min_subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                                   name="promo_code_uses_within_limit"),
            models.CheckConstraint(condition=Q(value__gt=0) & (~Q(kind="percent") | Q(value__lte=100)),
                                   name="promo_code_value_sane"),
            models.CheckConstraint(condition=Q(max_uses_per_customer__isnull=True) | Q(max_uses_per_customer__gte=1),
                                   name="promo_code_per_customer_at_least_one"),
        ]

    def __str__(self):
        return self.code


class PromoCodeUse(models.Model):
    """How many live orders one customer (``u:<user id>`` or ``e:<e-mail>``) has with a code."""

    promo = models.ForeignKey(PromoCode, on_delete=models.CASCADE, related_name="customer_uses")
    customer = models.CharField(max_length=260)
    uses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["promo", "customer"], name="promo_code_use_per_customer")]

    def __str__(self):
        return f"{self.promo.code}: {self.customer} x{self.uses}"
