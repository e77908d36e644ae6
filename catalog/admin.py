"""Staff admin for the catalogue: products with their variants (and live stock) and images inline. Showing or
hiding a product needs catalog.activate_product, on the list's actions and on the product's own form alike."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html

from inventory import services as inventory_services
from inventory.types import UnknownSku

from . import services
from .models import Category, Product, ProductImage, Variant


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "parent", "position"]
    list_filter = ["parent"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    list_editable = ["position"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.category_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.category_changed()


class VariantForm(forms.ModelForm):
    """A variant with its attributes as fields, one per attribute name (``attribute_names``, set per product by
    VariantInline), and one more (``attr_new``, also VariantInline's) to add a new attribute as name=value; a field
    left empty drops the attribute."""

    attribute_names: tuple[str, ...] = ()

    class Meta:
        model = Variant
        fields = ["sku", "name", "price", "currency", "position"]
        # Sized to what they hold, so a row of a dozen variants with their attributes fits a 1280 px screen
        # (the admin's default text boxes made the table 1956 px wide).
        widgets = {"sku": forms.TextInput(attrs={"style": "width: 11em"}),
                   "name": forms.TextInput(attrs={"style": "width: 9em"}),
                   "price": forms.NumberInput(attrs={"style": "width: 6em", "step": "0.01"}),
                   "currency": forms.TextInput(attrs={"style": "width: 3.5em"}),
                   "position": forms.NumberInput(attrs={"style": "width: 3.5em"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in self.attribute_names:
            self.fields[f"attr_{key}"].initial = (self.instance.attributes or {}).get(key, "")

    def clean_attr_new(self):
        text = self.cleaned_data["attr_new"].strip()
        if not text:
            return None
        name, sep, value = (part.strip() for part in text.partition("="))
        name = name.lower().replace(" ", "_")
        if not sep or not value or not services.ATTRIBUTE_NAME.fullmatch(name):
            raise forms.ValidationError("Write name=value, the name in lower-case letters (e.g. material=wool).")
        return name, value

    def save(self, commit=True):
        attributes = {key: value for key in self.attribute_names
                      if (value := self.cleaned_data.get(f"attr_{key}", "").strip())}
        if self.cleaned_data.get("attr_new"):
            name, value = self.cleaned_data["attr_new"]
            attributes[name] = value
        self.instance.attributes = attributes
        return super().save(commit)


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 1
    readonly_fields = ["stock"]
    DEFAULT_ATTRIBUTES = ("size", "colour")

    def get_formset(self, request, obj=None, **kwargs):
        names = sorted({key for attributes in (obj.variants.values_list("attributes", flat=True) if obj else ())
                        for key in (attributes or {})}) or list(self.DEFAULT_ATTRIBUTES)
        fields = {f"attr_{key}": forms.CharField(label=key.replace("_", " "), required=False, max_length=100,
                                                 widget=forms.TextInput(attrs={"style": "width: 7em"}))
                  for key in names}
        fields["attr_new"] = forms.CharField(  # after the attributes it adds to
            label="Add attribute", required=False, max_length=100, help_text="name=value, e.g. material=wool",
            widget=forms.TextInput(attrs={"style": "width: 9em"}))
        kwargs["form"] = type("VariantForm", (VariantForm,), {**fields, "attribute_names": tuple(names)})
        return super().get_formset(request, obj, **kwargs)

    @admin.display(description="stock (available / on hand)")
    def stock(self, variant):
        if not variant.pk:
            return "—"
        try:
            levels = inventory_services.stock_levels(sku=variant.sku)
        except UnknownSku:
            return "no stock row"
        return format_html("<strong>{}</strong> / {}", levels.available, levels.on_hand)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]

    @admin.display(description="")
    def preview(self, image):
        return format_html('<img src="{}" alt="" style="height:48px">', image.image.url) if image.pk else ""


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "price_from", "in_stock", "is_active", "is_featured", "created_at"]
    list_filter = ["is_active", "is_featured", "in_stock", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "variants__sku"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["price_from", "in_stock", "created_at", "updated_at"]
    inlines = [VariantInline, ProductImageInline]
    list_per_page = 50
    date_hierarchy = "created_at"
    actions = ["make_active", "make_inactive"]

    def has_activate_permission(self, request):
        return request.user.has_perm("catalog.activate_product")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if self.has_activate_permission(request) else [*fields, "is_active"]

    def save_model(self, request, obj, form, change):
        if not change and not self.has_activate_permission(request):
            obj.is_active = False  # someone who may not show products can add one, hidden until a manager shows it
        previous = form.initial.get("category") if change else None
        obj._previous_category_ids = [previous] if previous and previous != obj.category_id else []
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        product = form.instance
        previous_skus = list(product.variants.values_list("sku", flat=True)) if change else []
        super().save_related(request, form, formsets, change)
        services.product_refresh(product_ids=[product.pk], previous_skus=previous_skus,
                                 previous_category_ids=getattr(product, "_previous_category_ids", []))

    def delete_model(self, request, obj):
        services.products_delete(product_ids=[obj.pk])

    def delete_queryset(self, request, queryset):  # "Delete selected products": likewise, each of them
        services.products_delete(product_ids=list(queryset.values_list("id", flat=True)))

    @admin.action(description="Show the selected products to shoppers", permissions=["activate"])
    def make_active(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        queryset.update(is_active=True)
        services.product_refresh(product_ids=ids)

    @admin.action(description="Hide the selected products from shoppers", permissions=["activate"])
    def make_inactive(self, request, queryset):
        ids = list(queryset.values_list("id", flat=True))
        queryset.update(is_active=False)
        services.product_refresh(product_ids=ids)
