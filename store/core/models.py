"""The transactional outbox: side effects that must not be lost, written in the same transaction as the change."""

from django.db import models


class OutboxMessage(models.Model):
    """One domain event waiting to be (or already) delivered to its subscribers by the Celery relay."""

    topic = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending_idx",
                         condition=models.Q(delivered_at__isnull=True)),
        ]

    def __str__(self):
        return f"{self.topic} #{self.pk}"
