"""The returns queue for staff: returns by status, and each step through returns' services, each with its own
permission: approve or reject (returns.approve_return), receive the parcel per line (returns.receive_return: stock
moves), refund (returns.refund_return: money moves). Staff who may only view see the queue and nothing to press."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from store.core.exceptions import ApplicationError

from . import services
from .forms import ReceiveForm, RejectForm
from .models import Return, ReturnEvent, ReturnLine


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    fields = ["sku", "name", "unit_price", "quantity", "received", "restocked"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReturnEventInline(admin.TabularInline):
    model = ReturnEvent
    extra = 0
    fields = ["at", "status", "note"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["number", "created_at", "order_link", "email", "reason", "status", "refund_amount"]
    list_filter = ["status", "reason", "created_at"]
    search_fields = ["=number", "=order_number", "email"]
    readonly_fields = ["number", "order_link", "email", "status", "reason", "note", "staff_note", "fee",
                       "refund_amount", "currency", "created_at", "updated_at"]
    exclude = ["order_number", "user_id"]
    inlines = [ReturnLineInline, ReturnEventInline]
    actions = ["approve", "receive_all", "refund"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("returns.approve_return")

    def has_receive_permission(self, request):
        return request.user.has_perm("returns.receive_return")

    def has_refund_permission(self, request):
        return request.user.has_perm("returns.refund_return")

    @admin.display(description="order", ordering="order_number")
    def order_link(self, ret):
        return format_html('<a href="/admin/orders/order/?q={}">{}</a>', ret.order_number, ret.order_number)

    @admin.display(description="")
    def reject_link(self, ret):
        if ret.status not in ("requested", "approved"):
            return "—"
        return format_html('<a class="button" href="{}">Reject…</a>',
                           reverse("admin:returns_return_reject", args=[ret.pk]))

    @admin.display(description="")
    def receive_link(self, ret):
        if ret.status != "approved":
            return "—"
        return format_html('<a class="button" href="{}">Mark received…</a>',
                           reverse("admin:returns_return_receive", args=[ret.pk]))

    def get_readonly_fields(self, request, obj=None):
        """The step links each member of staff may press (the pages check the permission again)."""
        allowed = {"reject_link": self.has_approve_permission(request),
                   "receive_link": self.has_receive_permission(request)}
        return [*self.readonly_fields, *(name for name, may in allowed.items() if may)]

    def get_urls(self):
        return [
            path("<int:pk>/reject/", self.admin_site.admin_view(self.reject_view), name="returns_return_reject"),
            path("<int:pk>/receive/", self.admin_site.admin_view(self.receive_view), name="returns_return_receive"),
            *super().get_urls(),
        ]

    def _page(self, request, ret, form, title, template):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "ret": ret, "form": form,
                   "title": title}
        return TemplateResponse(request, template, context)

    def reject_view(self, request, pk):
        if not self.has_approve_permission(request):
            raise PermissionDenied
        ret = get_object_or_404(Return, pk=pk)
        form = RejectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.return_reject(number=ret.number, reason=form.cleaned_data["reason"], by=str(request.user))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Return {ret.number} rejected; the shopper is told why.", messages.SUCCESS)
                return redirect("admin:returns_return_change", ret.pk)
        return self._page(request, ret, form, f"Reject return {ret.number}", "admin/returns/reject.html")

    def receive_view(self, request, pk):
        if not self.has_receive_permission(request):
            raise PermissionDenied
        ret = get_object_or_404(Return, pk=pk)
        form = ReceiveForm(request.POST or None, lines=ret.lines.all())
        if request.method == "POST" and form.is_valid():
            received, damaged = form.counts()
            try:
                services.return_receive(number=ret.number, received=received, damaged=damaged, by=str(request.user))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Return {ret.number} received.", messages.SUCCESS)
                return redirect("admin:returns_return_change", ret.pk)
        return self._page(request, ret, form, f"Receive return {ret.number}", "admin/returns/receive.html")

    def _each(self, request, queryset, step, done: str):
        count = 0
        for number in queryset.values_list("number", flat=True):
            try:
                step(number)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{number}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, f"{done}: {count} return(s).", messages.SUCCESS)

    @admin.action(description="Approve (the shopper is told to send the parcel)", permissions=["approve"])
    def approve(self, request, queryset):
        self._each(request, queryset, lambda n: services.return_approve(number=n, by=str(request.user)), "Approved")

    @admin.action(description="Mark received in full, every unit back in stock", permissions=["receive"])
    def receive_all(self, request, queryset):
        self._each(request, queryset, lambda n: services.return_receive(number=n, by=str(request.user)), "Received")

    @admin.action(description="Refund the units received", permissions=["refund"])
    def refund(self, request, queryset):
        self._each(request, queryset, lambda n: services.return_refund(number=n, by=str(request.user)), "Refunded")
