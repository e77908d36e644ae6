"""Staff view of payments and refunds (read-only: money moves through the orders' actions)."""

from django.contrib import admin

from store.core.admin_mixins import ReadOnlyAdminMixin

from .models import Payment, Refund


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    readonly_fields = ["amount", "state", "reason", "gateway_reference", "idempotency_key", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["order_reference", "amount", "currency", "state", "gateway", "card_last4", "created_at"]
    list_filter = ["state", "gateway"]
    search_fields = ["=order_reference", "=gateway_reference"]
    inlines = [RefundInline]
