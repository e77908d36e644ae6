from django import forms
from django.contrib import admin

from store.core.exceptions import InvalidInput

from .models import ShippingBand, ShippingMethod, TaxRate
from .services import shipping_countries, shipping_invalidate, tax_region_checked


def _country_checked(code: str) -> str:
    """A country as staff type it ("gb", " GB ") as the checkout names it, or a form error for one no checkout can
    name (a method or rate for "XX" would never apply)."""
    code = code.strip().upper()
    if code not in dict(shipping_countries()):
        raise forms.ValidationError(f"{code} is not a country we can ship to (an ISO 3166 two-letter code such as "
                                    "US or GB).")
    return code


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


class ShippingMethodForm(forms.ModelForm):
    class Meta:
        model = ShippingMethod
        fields = ["code", "name", "countries", "price", "basis", "free_over", "estimate", "position", "is_active"]

    def clean_countries(self) -> list[str]:
        return [_country_checked(code) for code in self.cleaned_data.get("countries") or []]


@admin.register(ShippingMethod)
class ShippingMethodAdmin(_Invalidates):
    form = ShippingMethodForm
    list_display = ["code", "name", "price", "free_over", "basis", "estimate", "is_active", "position"]
    list_editable = ["is_active", "position"]
    inlines = [ShippingBandInline]


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "region", "name", "rate", "prices_include_tax", "applies_to_shipping"]

    def clean_country(self) -> str:
        return _country_checked(self.cleaned_data["country"])

    def clean_rate(self):
        rate = self.cleaned_data["rate"]
        if rate is not None and rate >= 100:  # (the database's tax_rate_percent, said at the field)
            raise forms.ValidationError("A rate is a percent less than 100, e.g. 20 for 20%.")
        return rate

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
