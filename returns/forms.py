"""The shopper's return form (one quantity per line of the order, a reason, a note) and the staff's forms."""

from __future__ import annotations

from django import forms
from django.conf import settings

from .models import Return
from .services import MAX_NOTE, MAX_STAFF_NOTE
from .types import ReturnOptions, ReturnRequest

ORDER_TOKENS_SESSION_KEY = "order_tokens"  # where the orders pages keep a guest's order secrets (orders/views.py)


def order_token(request, number: str) -> str:
    """The order's secret a return form acts with: from the link (?token=), the form, or the session the checkout
    left it in (a guest's order page opens without it in the address)."""
    return (request.GET.get("token") or request.POST.get("token")
            or request.session.get(ORDER_TOKENS_SESSION_KEY, {}).get(number, ""))


def restocking_fees() -> list[tuple[str, object]]:
    """The restocking fees the form tells a shopper of: (the reason in words, percent), for reasons that have one."""
    return [(label, settings.RETURN_RESTOCKING_FEES[code]) for code, label in Return.Reason.choices
            if settings.RETURN_RESTOCKING_FEES.get(code)]


class ReturnRequestForm(forms.Form):
    """Fields ``units_<i>`` per line of the order (0 to what is left to return), then reason and note. The service
    checks it all again under the order's lock."""

    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *Return.Reason.choices])
    note = forms.CharField(required=False, max_length=MAX_NOTE, widget=forms.Textarea(attrs={"rows": 3}),
                           label="Anything we should know?")

    def __init__(self, *args, options: ReturnOptions, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = options
        self.line_fields = []
        for i, line in enumerate(options.lines):
            name = f"units_{i}"
            self.fields[name] = forms.IntegerField(
                required=False, min_value=0, max_value=line.left, initial=0, label=line.name,
                help_text=f"SKU {line.sku} · {line.left} of {line.quantity} can be returned",
                widget=forms.NumberInput(attrs={"min": 0, "max": line.left, "step": 1}))
            self.line_fields.append((name, line))
        self.order_fields(["reason", "note", *[name for name, _ in self.line_fields]])

    def clean(self):
        data = super().clean()
        if not self.errors and not any(data.get(name) for name, _ in self.line_fields):
            raise forms.ValidationError("Choose how many of at least one item you are returning.")
        return data

    def field_of(self, sku: str) -> str | None:
        return next((name for name, line in self.line_fields if line.sku == sku), None)

    def as_request(self) -> ReturnRequest:
        data = self.cleaned_data
        lines: dict[str, int] = {}
        for name, line in self.line_fields:
            if data.get(name):
                lines[line.sku] = lines.get(line.sku, 0) + data[name]
        return ReturnRequest(lines=lines, reason=data["reason"], note=data["note"].strip())


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=MAX_STAFF_NOTE, label="Why (the shopper is told)")


class ReceiveForm(forms.Form):
    """Per line of the return: units that arrived (all asked for, by default) and of those, units damaged."""

    def __init__(self, *args, lines, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for i, line in enumerate(self.lines):
            self.fields[f"received_{i}"] = forms.IntegerField(min_value=0, max_value=line.quantity,
                                                              initial=line.quantity, label=f"{line.sku} arrived")
            self.fields[f"damaged_{i}"] = forms.IntegerField(min_value=0, max_value=line.quantity, initial=0,
                                                             label=f"{line.sku} damaged (written off)")

    def clean(self):
        data = super().clean()
        for i, line in enumerate(self.lines):
            got, damaged = data.get(f"received_{i}"), data.get(f"damaged_{i}")
            if got is not None and damaged is not None and damaged > got:
                self.add_error(f"damaged_{i}", f"Only {got} of {line.sku} arrived.")
        return data

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        data = self.cleaned_data
        return ({line.sku: data[f"received_{i}"] for i, line in enumerate(self.lines)},
                {line.sku: data[f"damaged_{i}"] for i, line in enumerate(self.lines)})
