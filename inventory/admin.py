"""Staff views of stock: levels (search, low-stock filter, receive/adjust with a reason), the read-only ledger,
and live reservations. Every change goes through inventory's services and is recorded with the staff user, and
needs its own permission (inventory.adjust_stock, inventory.release_reservation, inventory.run_flash_sale): staff
who may only view see the stock and nothing to press."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from store.core.admin_mixins import ReadOnlyAdminMixin
from store.core.exceptions import ApplicationError

from . import services
from .forms import FlashSaleForm, StockAdjustmentForm
from .models import FlashSale, Reservation, StockLevel, StockMovement


class LowStockFilter(admin.SimpleListFilter):
    title = "availability"
    parameter_name = "availability"

    def lookups(self, request, model_admin):
        return [("out", "Sold out"), ("low", f"Low (≤ {settings.LOW_STOCK_THRESHOLD})"),
                ("reserved", "Has reservations")]

    def queryset(self, request, queryset):
        available = F("on_hand") - F("reserved")
        if self.value() == "out":
            return queryset.alias(a=available).filter(a__lte=0)
        if self.value() == "low":
            return queryset.alias(a=available).filter(a__gt=0, a__lte=settings.LOW_STOCK_THRESHOLD)
        if self.value() == "reserved":
            return queryset.filter(reserved__gt=0)
        return queryset


class _NamedSkuMixin:
    """Every row's SKU shown with its product and variant (the catalogue names them, asked once per page), and
    found by those names as well as by the SKU."""

    search_help_text = "SKU, or part of the product's or variant's name."

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        names = services.sku_names(skus={row.sku for row in changelist.result_list})
        for row in changelist.result_list:
            row.item_name = names.get(row.sku, "")
        return changelist

    @admin.display(description="product — variant")
    def item(self, row):
        name = getattr(row, "item_name", None)
        if name is None:
            name = services.sku_names(skus=[row.sku]).get(row.sku, "")
        return name or "(not in the catalogue)"

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        skus = services.skus_named(text=search_term)
        return (found | queryset.filter(sku__in=skus) if skus else found), may_have_duplicates


def _staff_names(user_ids) -> dict[int, str]:
    """Each staff user's full name, else username (Django's own users: the ledger keeps only the id)."""
    users = get_user_model().objects.filter(pk__in={i for i in user_ids if i is not None})
    return {u.pk: u.get_full_name() or u.get_username() for u in users}


@admin.register(StockLevel)
class StockLevelAdmin(_NamedSkuMixin, admin.ModelAdmin):
    list_display = ["sku", "item", "on_hand", "reserved", "available", "updated_at", "adjust_link"]
    search_fields = ["sku"]
    list_filter = [LowStockFilter]
    readonly_fields = ["sku", "item", "on_hand", "reserved", "available", "updated_at", "adjust_link",
                       "recent_ledger"]

    def has_add_permission(self, request):
        return False  # stock rows are created with their variants; quantities change through the ledger

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # levels change through "Receive / adjust" (the ledger records it): the page has no Save

    def has_adjust_permission(self, request):
        return request.user.has_perm("inventory.adjust_stock")

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        return fields if self.has_adjust_permission(request) else [f for f in fields if f != "adjust_link"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if self.has_adjust_permission(request) else [f for f in fields if f != "adjust_link"]

    @admin.display(description="change stock")
    def adjust_link(self, level):
        url = reverse("admin:inventory_stocklevel_adjust", args=[level.pk])
        return format_html('<a class="button" href="{}">Receive / adjust</a>', url)

    @admin.display(description="Ledger (latest 20)")
    def recent_ledger(self, level):
        rows = list(StockMovement.objects.filter(sku=level.sku)[:20])
        staff = _staff_names(m.user_id for m in rows)
        url = reverse("admin:inventory_stockmovement_changelist") + f"?sku={level.sku}"
        lines = format_html_join("", "<li>{} · {} · on hand {}, reserved {} {} {}{}</li>", (
            (f"{m.created_at:%Y-%m-%d %H:%M}", m.get_kind_display(), f"{m.on_hand_delta:+d}",
             f"{m.reserved_delta:+d}", m.reference, m.reason,
             f" · by {staff.get(m.user_id, 'a deleted user')}" if m.user_id else "")
            for m in rows
        ))
        return format_html('<ul>{}</ul><a href="{}">The whole ledger of {}</a>', lines, url, level.sku)

    def get_urls(self):
        return [path("<int:pk>/adjust/", self.admin_site.admin_view(self.adjust_view),
                     name="inventory_stocklevel_adjust"), *super().get_urls()]

    def adjust_view(self, request, pk):
        if not self.has_adjust_permission(request):
            raise PermissionDenied
        level = get_object_or_404(StockLevel, pk=pk)
        form = StockAdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            action, quantity, reason = (form.cleaned_data[k] for k in ("action", "quantity", "reason"))
            try:
                if action == "receive":
                    result = services.stock_receive(sku=level.sku, quantity=quantity, reason=reason,
                                                    user_id=request.user.pk)
                elif action == "write_off":
                    result = services.stock_receive(sku=level.sku, quantity=-quantity, reason=reason,
                                                    user_id=request.user.pk)
                else:
                    result = services.stock_set(sku=level.sku, on_hand=quantity, reason=reason,
                                                user_id=request.user.pk)
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                name = services.sku_names(skus=[level.sku]).get(level.sku, "")
                item = f"{name} ({level.sku})" if name else level.sku
                units = f"{quantity} unit{'' if quantity == 1 else 's'}"
                done = {"receive": f"Received {units} of {item}.", "write_off": f"Wrote off {units} of {item}.",
                        "set": f"Set {item} to {quantity} on hand (counted)."}[action]
                self.message_user(request, f"{done} Now {result.on_hand} on hand, {result.reserved} reserved, "
                                           f"{result.available} available.", messages.SUCCESS)
                return redirect("admin:inventory_stocklevel_change", level.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "level": level,
                   "item": services.sku_names(skus=[level.sku]).get(level.sku, ""),
                   "form": form, "title": f"Receive or adjust {level.sku}"}
        return TemplateResponse(request, "admin/inventory/stock_adjust.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(_NamedSkuMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "sku", "item", "kind", "on_hand_delta", "reserved_delta", "reference", "reason",
                    "staff"]
    list_filter = ["kind"]
    search_fields = ["=sku", "=reference"]
    search_help_text = "SKU, order number, or part of the product's or variant's name."
    fields = readonly_fields = ["created_at", "sku", "item", "kind", "on_hand_delta", "reserved_delta", "reference",
                                "reason", "staff"]

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        staff = _staff_names(row.user_id for row in changelist.result_list)
        for row in changelist.result_list:
            row.staff_name = staff.get(row.user_id, "a deleted user") if row.user_id else "—"
        return changelist

    @admin.display(description="staff")
    def staff(self, movement):
        name = getattr(movement, "staff_name", None)
        if name is None:
            name = _staff_names([movement.user_id]).get(movement.user_id, "a deleted user") if movement.user_id \
                else "—"
        return name

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        sku = request.GET.get("sku")
        return queryset.filter(sku=sku) if sku else queryset

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "sku" or super().lookup_allowed(lookup, value, request)


@admin.register(Reservation)
class ReservationAdmin(_NamedSkuMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["reference", "sku", "item", "quantity", "state", "expires", "created_at"]
    list_filter = ["state"]
    search_fields = ["=reference", "=sku"]
    search_help_text = "Order number, SKU, or part of the product's or variant's name."
    fields = readonly_fields = ["reference", "sku", "item", "quantity", "state", "expires", "created_at"]
    actions = ["release_selected"]

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, reservation):
        """Only a live hold expires: one paid for (committed) or released has nothing left to run out."""
        if reservation.state != Reservation.State.ACTIVE:
            return "—"
        return reservation.expires_at

    def has_release_permission(self, request):
        return request.user.has_perm("inventory.release_reservation")

    @admin.action(description="Release the selected reservations (their units become available; their orders "
                              "are settled)", permissions=["release"])
    def release_selected(self, request, queryset):
        references = sorted(set(queryset.filter(state=Reservation.State.ACTIVE).values_list("reference", flat=True)))
        for reference in references:
            services.reservation_release(reference=reference, reason=f"released by staff {request.user}")
        self.message_user(request, f"Released {len(references)} reservation(s).", messages.SUCCESS)


@admin.register(FlashSale)
class FlashSaleAdmin(admin.ModelAdmin):
    """Staff turn a SKU's sale on (with a start time) and off; saving reloads the gate from available stock."""

    list_display = ["sku", "starts_at", "active", "tokens", "updated_at"]
    list_filter = ["active"]
    search_fields = ["=sku"]
    form = FlashSaleForm

    # Saving or deleting a sale opens or shuts its gate, so one permission (inventory.run_flash_sale) decides all
    # three, in place of Django's add/change/delete_flashsale.
    def has_add_permission(self, request):
        return request.user.has_perm("inventory.run_flash_sale")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("inventory.run_flash_sale")

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("inventory.run_flash_sale")

    @admin.display(description="tokens in the gate")
    def tokens(self, sale):
        return services.flash_sale_show(sku=sale.sku)["tokens"] if sale.active else "—"

    def save_model(self, request, obj, form, change):
        if obj.active:
            services.flash_sale_start(sku=obj.sku, at=obj.starts_at)
        else:
            services.flash_sale_stop(sku=obj.sku)

    def delete_model(self, request, obj):
        services.flash_sale_stop(sku=obj.sku)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):  # the bulk "delete selected" action: the gate must let go too
        for sku in queryset.values_list("sku", flat=True):
            services.flash_sale_stop(sku=sku)
        super().delete_queryset(request, queryset)
