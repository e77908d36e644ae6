"""The recommender for staff, read only: the precomputed lists (what a product's page shows, and why) and the
counts they come from. They change only through orders, views and the rebuild, never by hand."""

from django.contrib import admin

from .models import ProductCount, RecommendationList


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RecommendationList)
class RecommendationListAdmin(ReadOnly):
    list_display = ("key", "length", "updated_at")
    search_fields = ("key",)
    readonly_fields = ("key", "items", "updated_at")

    @admin.display(description="entries")
    def length(self, obj):
        return len(obj.items)


@admin.register(ProductCount)
class ProductCountAdmin(ReadOnly):
    list_display = ("product_slug", "category_slug", "orders")
    list_filter = ("category_slug",)
    search_fields = ("product_slug",)
    ordering = ("-orders", "product_slug")
    readonly_fields = ("product_slug", "category_slug", "orders")
