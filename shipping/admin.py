from django.contrib import admin

from .models import ShippingBand, ShippingMethod, TaxRate
from .services import shipping_invalidate


class _Invalidates(admin.ModelAdmin):
    """Every change reaches the checkout's cached copy once it commits."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        shipping_invalidate()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        shipping_invalidate()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        shipping_invalidate()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        shipping_invalidate()


class ShippingBandInline(admin.TabularInline):
    model = ShippingBand
    extra = 1


@admin.register(ShippingMethod)
class ShippingMethodAdmin(_Invalidates):
    list_display = ["code", "name", "price", "free_over", "basis", "estimate", "is_active", "position"]
    list_editable = ["is_active", "position"]
    inlines = [ShippingBandInline]


@admin.register(TaxRate)
class TaxRateAdmin(_Invalidates):
    list_display = ["country", "region", "name", "rate", "prices_include_tax", "applies_to_shipping"]
    list_filter = ["prices_include_tax"]
