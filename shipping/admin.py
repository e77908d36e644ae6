from django import forms
from django.contrib import admin

from store.core.exceptions import InvalidInput

from .models import ShippingBand, ShippingMethod, TaxRate
from .services import shipping_invalidate, tax_region_checked


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


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "region", "name", "rate", "prices_include_tax", "applies_to_shipping"]

    def clean(self):
        data = super().clean()
        if data.get("country"):
            try:
                data["region"] = tax_region_checked(country=data["country"], region=data.get("region") or "")
            except InvalidInput as exc:
                self.add_error("region", exc.message)
        return data


@admin.register(TaxRate)
class TaxRateAdmin(_Invalidates):
    form = TaxRateForm
    list_display = ["country", "region", "name", "rate", "prices_include_tax", "applies_to_shipping"]
    list_filter = ["prices_include_tax"]
