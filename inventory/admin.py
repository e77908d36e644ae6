"""Staff views of stock: levels with a low-stock filter, and the read-only ledger."""

from django.conf import settings
from django.contrib import admin
from django.db.models import F

from .models import StockLevel, StockMovement


class LowStockFilter(admin.SimpleListFilter):
    title = "availability"
    parameter_name = "availability"

    def lookups(self, request, model_admin):
        return [("out", "Sold out"), ("low", f"Low (≤ {settings.LOW_STOCK_THRESHOLD})")]

    def queryset(self, request, queryset):
        available = F("on_hand") - F("reserved")
        if self.value() == "out":
            return queryset.alias(a=available).filter(a__lte=0)
        if self.value() == "low":
            return queryset.alias(a=available).filter(a__gt=0, a__lte=settings.LOW_STOCK_THRESHOLD)
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ["sku", "on_hand", "reserved", "available", "updated_at"]
    search_fields = ["sku"]
    list_filter = [LowStockFilter]
    readonly_fields = ["sku", "on_hand", "reserved", "updated_at"]

    def has_add_permission(self, request):
        return False  # stock rows are created with their variants; quantities change through the ledger

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "sku", "kind", "on_hand_delta", "reserved_delta", "reference", "reason", "user_id"]
    list_filter = ["kind"]
    search_fields = ["sku", "reference"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
