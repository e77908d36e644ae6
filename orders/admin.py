"""Staff admin for orders: filters, search, lines, history and payments on the order, and cancel / refund /
mark shipped actions, all through orders' services. Each action needs its own permission (orders.cancel_order,
orders.refund_order, orders.ship_order): staff who may only view see the orders and nothing to press."""

import uuid

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from payments import services as payment_services
from store.core.exceptions import ApplicationError

from . import services
from .forms import PromoCodeForm, RefundForm
from .models import Order, OrderEvent, OrderLine, PromoCode

ADDRESS_PARTS = ("name", "line1", "line2", "city", "region", "postal_code", "country", "phone")


class _ReadOnlyInline(admin.TabularInline):
    """Rows of the order's record: shown, never edited, and without the row's own title above it (Django prints
    each row's str(), "YW2Z-YWBX -> pending_payment", over its cells)."""

    extra = 0
    can_delete = False
    template = "admin/orders/tabular_read_only.html"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "unit_price", "quantity", "line_total", "discount", "tax", "returned_quantity"]
    readonly_fields = fields


class OrderEventInline(_ReadOnlyInline):
    model = OrderEvent
    fields = ["at", "status", "note"]
    readonly_fields = fields
    verbose_name_plural = "history"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "email", "status", "total", "currency"]
    list_filter = ["status", "created_at"]
    # A partial number, the customer's name, e-mail or city, or any SKU or product name on its lines.
    search_fields = ["number", "email", "shipping_address__name", "shipping_address__city", "lines__sku",
                     "lines__name"]
    search_help_text = "Order number (or part of it), customer name, e-mail, city, SKU or product name."
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["number", "status", "created_at", "updated_at"]}),
        ("Customer", {"fields": ["email", "account", "address"]}),
        ("Money", {"fields": ["currency", "subtotal", "discount", "promo_code", "shipping", "shipping_method_name",
                              "tax", "tax_included", "total", "refunded", "payments", "refund_link"]}),
        ("Stock", {"fields": ["ledger"]}),
    ]
    readonly_fields = ["number", "email", "account", "status", "currency", "subtotal", "discount", "promo_code",
                       "shipping", "shipping_method_name", "tax", "tax_included", "total", "address",
                       "created_at", "updated_at", "refunded", "payments", "ledger", "refund_link"]
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

    def has_change_permission(self, request, obj=None):
        return False  # an order changes only through its actions: the page reads, with no Save buttons

    def get_fieldsets(self, request, obj=None):
        show_refund = obj is not None and self.has_refund_permission(request) and self._left_to_refund(obj) > 0
        return [(name, {**options, "fields": [f for f in options["fields"] if f != "refund_link" or show_refund]})
                for name, options in super().get_fieldsets(request, obj)]

    @staticmethod
    def _left_to_refund(order):
        """What the provider could still give back: a paid, shipped or partly refunded order's payments less their
        refunds (nothing for an order that is pending, cancelled or refunded in full)."""
        if order.status not in services.REFUNDABLE:
            return 0
        return sum((p.amount - p.refunded_amount for p in payment_services.payment_summaries(
            order_reference=order.number) if p.state in ("succeeded", "partially_refunded")), 0)

    @admin.display(description="account")
    def account(self, order):
        """Who bought, in words: the account's name and username (the order keeps only its id), or a guest."""
        if order.user_id is None:
            return "Guest checkout"
        user = get_user_model().objects.filter(pk=order.user_id).first()
        if user is None:
            return "A deleted account"
        name = user.get_full_name()
        return f"{name} ({user.get_username()})" if name else user.get_username()

    @admin.display(description="shipping address")
    def address(self, order):
        a = order.shipping_address if isinstance(order.shipping_address, dict) else {}
        city = " ".join(str(a[k]) for k in ("city", "region", "postal_code") if a.get(k))
        rows = [a.get("name"), a.get("line1"), a.get("line2"), city, a.get("country"),
                f"Phone {a['phone']}" if a.get("phone") else ""]
        return format_html_join("", "<div>{}</div>", ((str(r),) for r in rows if r)) or "—"

    @admin.display(description="refunded")
    def refunded(self, order):
        rows = payment_services.payment_summaries(order_reference=order.number)
        amount = sum((p.refunded_amount for p in rows), 0)
        recorded = order.refunds.aggregate(n=Sum("amount"))["n"] or 0
        return f"{max(amount, recorded):.2f} {order.currency}" if (amount or recorded) else "nothing"

    @admin.display(description="payments")
    def payments(self, order):
        rows = payment_services.payment_summaries(order_reference=order.number)
        return format_html_join("", "<div>{} {} · {} · card …{} · refunded {}</div>",
                                ((p.amount, p.currency, p.state.replace("_", " ").capitalize(),
                                  p.card_last4 or "—", p.refunded_amount) for p in rows)) or "none"

    @admin.display(description="refund")
    def refund_link(self, order):
        url = reverse("admin:orders_order_refund", args=[order.pk])
        return format_html('<a class="button" href="{}">Refund (full or partial)</a> <span class="help">{} {} '
                           'left to refund</span>', url, f"{self._left_to_refund(order):.2f}", order.currency)

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
                   "form": form, "title": f"Refund order {order.number}", "left": self._left_to_refund(order),
                   "payments": [(p, p.state.replace("_", " ").capitalize())
                                for p in payment_services.payment_summaries(order_reference=order.number)]}
        return TemplateResponse(request, "admin/orders/refund.html", context)

    @admin.display(description="stock ledger")
    def ledger(self, order):
        return format_html_join("", '<a href="/admin/inventory/stockmovement/?q={}">{}</a>',
                                [(order.number, f"Ledger rows for {order.number}")])

    def _each(self, request, queryset, action, done: str):
        """Runs ``action`` on each order; ``done`` is the sentence's verb with {orders} where the count goes
        ('Marked {orders} shipped')."""
        numbers = []
        for number in queryset.values_list("number", flat=True):
            try:
                action(number)
                numbers.append(number)
            except ApplicationError as exc:
                self.message_user(request, f"{number}: {exc.message}", messages.ERROR)
        if numbers:
            orders = f"{len(numbers)} order{'' if len(numbers) == 1 else 's'}"
            self.message_user(request, f"{done.format(orders=orders)}: {', '.join(numbers)}.", messages.SUCCESS)

    @admin.action(description="Cancel (releases stock; refunds and restocks if paid)", permissions=["cancel"])
    def cancel(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_cancel(number=n, note=f"cancelled by {request.user}"),
                   "Cancelled {orders}")

    @admin.action(description="Refund in full and put the units back in stock", permissions=["refund"])
    def refund_in_full_with_restock(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_refund(
            number=n, restock=True, note=f"refunded by {request.user}"), "Refunded {orders} in full")

    @admin.action(description="Mark as shipped", permissions=["ship"])
    def mark_shipped(self, request, queryset):
        self._each(request, queryset, lambda n: services.order_fulfil(number=n), "Marked {orders} shipped")



class _UsedMeanwhile(Exception):
    """A promo code's new limit fell below its uses between the form's check and the save (``uses``: now)."""

    def __init__(self, uses: int):
        super().__init__(uses)
        self.uses = uses


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    """Codes staff give out. ``uses`` is counted by the checkout (never edited here): a cancelled or fully refunded
    order gives its use back."""

    list_display = ["code", "kind", "value", "uses", "max_uses", "max_uses_per_customer", "min_subtotal",
                    "starts_at", "ends_at", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    readonly_fields = ["uses", "created_at"]
    form = PromoCodeForm  # (the code in capitals, unique in any case; its products and categories the catalogue's)

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Only what staff edit: ``uses`` as read when this request began may be stale by now (a checkout counted a
        # use meanwhile), and writing it back would lose that use.
        try:
            with transaction.atomic():
                obj.save(update_fields=[field.name for field in obj._meta.concrete_fields
                                        if field.name not in ("id", "uses", "created_at")])
        except IntegrityError as exc:
            # The form allowed the limit for the uses it read; a checkout took one since (committed between the
            # form's check and this save), and the database's check refuses a limit below them.
            if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") != "promo_code_uses_within_limit":
                raise
            raise _UsedMeanwhile(PromoCode.objects.values_list("uses", flat=True).get(pk=obj.pk)) from exc
        return None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _UsedMeanwhile as exc:
            # Its transaction rolled back, nothing saved: the same form again as staff filled it, refused at the
            # limit (get_form), for them to choose again knowing the uses now.
            request.promo_code_uses_meanwhile = exc.uses
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        uses = getattr(request, "promo_code_uses_meanwhile", None)
        return form if uses is None else type(form.__name__, (form,), {"uses_meanwhile": uses})
