"""Payments: every attempt to take money for an order, refunds, and the local test gateway's own books.
Tables live in the ``payments`` schema."""

from django.db import models
from django.db.models import Q


class Payment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"

    order_reference = models.CharField(max_length=64, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    gateway = models.CharField(max_length=20)
    gateway_reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    payment_method = models.CharField(max_length=100, blank=True)  # a Stripe PaymentMethod id (no card data)
    # Stripe Checkout: the hosted page's session and where to send the shopper to pay (no card data either).
    checkout_session = models.CharField(max_length=255, blank=True, db_index=True)
    redirect_url = models.TextField(blank=True)
    failure_code = models.CharField(max_length=50, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                                   name="payment_refund_within_amount"),
        ]

    def __str__(self):
        return f"{self.order_reference}: {self.amount} {self.currency} {self.state}"


class Refund(models.Model):
    """A refund is recorded as pending (it already counts against what is left to refund) before the gateway is
    asked, outside any lock, and settled afterwards; a pending one is finished by a retry with its key."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SUCCEEDED)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.CharField(max_length=255, blank=True)
    gateway_reference = models.CharField(max_length=100, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self):
        return f"refund {self.amount} of {self.payment.order_reference}"


class SandboxCharge(models.Model):
    """The local test gateway's side of the world: what it charged, by the idempotency key it was sent (so a
    retried charge returns the first answer, and compensation can ask what happened)."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    reference = models.CharField(max_length=40, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    # succeeded | card_declined | insufficient_funds | processing_error | voided (given up before it came)
    outcome = models.CharField(max_length=30)
    refunded = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.reference} {self.outcome}"


class WebhookEvent(models.Model):
    """A Stripe event, recorded by its id so that a replayed or repeated delivery is applied once."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class SandboxRefund(models.Model):
    """The test gateway's refunds, by the key they were sent with: a retried refund is made once."""

    idempotency_key = models.CharField(max_length=100, unique=True)
    charge_reference = models.CharField(max_length=40)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"sandbox refund {self.amount} of {self.charge_reference}"
