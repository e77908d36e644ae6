"""Staff admin for orders: filters, search, lines, history and payments on the order, and cancel / refund /
mark shipped actions, all through orders' services. Each action needs its own permission (orders.cancel_order,
orders.refund_order, orders.ship_order): staff who may only view see the orders and nothing to press."""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from payments import services as payment_services
from store.core.exceptions import ApplicationError

from . import services
from .forms import RefundForm
from .models import Order, OrderEvent, OrderLine, PromoCode


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["sku", "name", "unit_price", "quantity", "line_total", "discount", "tax"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["at", "status", "note"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "email", "status", "total", "currency"]
    list_filter = ["status", "created_at"]
    search_fields = ["=number", "email"]
    date_hierarchy = "created_at"
    readonly_fields = ["number", "email", "user_id", "status", "currency", "subtotal", "discount", "promo_code",
                       "shipping", "shipping_method", "shipping_method_name", "tax", "tax_included", "total",
                       "shipping_address", "created_at", "updated_at", "payments", "ledger", "refund_link"]
    exclude = ["access_token_hash"]
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["cancel", "refund_in_full_with_restock", "mark_shipped"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_cancel_permission(self, request):
        return request.user.has_perm("orders.cancel_order")

    def has_refund_permission(self, request):
        return request.user.has_perm("orders.refund_order")

    def has_ship_permission(self, request):
        return request.user.has_perm("orders.ship_order")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if self.has_refund_permission(request) else [f for f in fields if f != "refund_link"]

    @admin.display(description="payments")
    def payments(self, order):
        rows = payment_services.payment_summaries(order_reference=order.number)
        return format_html_join("", "<div>{} {} · {} · card …{} · refunded {}</div>",
                                ((p.amount, p.currency, p.state, p.card_last4 or "—", p.refunded_amount)
                                 for p in rows)) or "none"

    @admin.display(description="")
    def refund_link(self, order):
        url = reverse("admin:orders_order_refund", args=[order.pk])
        return format_html('<a class="button" href="{}">Refund (full or partial)</a>', url)

    def get_urls(self):
        return [path("<int:pk>/refund/", self.admin_site.admin_view(self.refund_view), name="orders_order_refund"),
                *super().get_urls()]

    def refund_view(self, request, pk):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=pk)
        # The most each line can put back is read now; order_refund checks it again, under the order's lock.
        form = RefundForm(request.POST or None, initial={"key": f"admin-{uuid.uuid4()}"}, lines=order.lines.all())
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.order_refund(number=order.number, amount=data["amount"], lines=form.restock_lines(),
                                      note=f"{data['reason']} ({request.user})", key=data["key"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Refund recorded for {order.number}.", messages.SUCCESS)
                return redirect("admin:orders_order_change", order.pk)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "order": order,
                   "form": form, "title": f"Refund order {order.number}",
                   "payments": payment_services.payment_summaries(order_reference=order.number)}
        return TemplateResponse(request, "admin/orders/refund.html", context)

    @admin.display(description="stock ledger")
    def ledger(self, order):
        return format_html_join("", '<a href="/admin/inventory/stockmovement/?q={}">{}</a>',
                                [(order.number, f"Ledger rows for {order.number}")])

    def _each(self, request, queryset, action, done: str):
        count = 0
        for number in queryset.values_list("number", flat=True):
            try:
                action(number)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{number}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{done}: {count} order(s).", messages.SUCCESS)

    @admin.action(description="Cancel (releases stock; refunds and restocks if paid)", permissions=["cancel"])
    def cancel(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_cancel(number=n, note=f"cancelled by {request.user}"),
                   "Cancelled")

    @admin.action(description="Refund in full and put the units back in stock", permissions=["refund"])
    def refund_in_full_with_restock(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_refund(
            number=n, restock=True, note=f"refunded by {request.user}"), "Refunded")

    @admin.action(description="Mark as shipped", permissions=["ship"])
    def mark_shipped(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_fulfil(number=n), "Marked shipped")



@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    """Codes staff give out. ``uses`` is counted by the checkout (never edited here): a cancelled or fully refunded
    order gives its use back."""

    list_display = ["code", "kind", "value", "uses", "max_uses", "max_uses_per_customer", "min_subtotal",
                    "starts_at", "ends_at", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["uses", "created_at"]

    def save_model(self, request, obj, form, change):
        obj.code = obj.code.strip().upper()
        super().save_model(request, obj, form, change)
