"""The checkout page's form (the JSON API takes the same fields)."""

import uuid
from collections.abc import Iterable

from django import forms

from shipping import services as shipping_services

from . import services
from .models import OrderLine, PromoCode


class CheckoutForm(forms.Form):
    email = forms.EmailField(help_text="Your receipt and the link to your order go here.")
    name = forms.CharField(max_length=200, label="Full name")
    line1 = forms.CharField(max_length=200, label="Address")
    line2 = forms.CharField(max_length=200, required=False, label="Apartment, suite (optional)")
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=60, required=False, label="State / province / region",
                             help_text="Where the country has them, e.g. OR for Oregon.")
    postal_code = forms.CharField(max_length=20, label="Postal code")
    country = forms.ChoiceField(initial="US", choices=lambda: shipping_services.shipping_countries(),
                                error_messages={"invalid_choice": "Use the two-letter country code, e.g. US."})
    phone = forms.CharField(max_length=30, required=False, label="Phone (optional)",
                            help_text="Only for the carrier, if they need to reach you.",
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    shipping_method = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Shipping")
    promo_code = forms.CharField(max_length=40, required=False, label="Promo code")
    card_number = forms.CharField(max_length=23, label="Card number",
                                  help_text="Test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.",
                                  widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)
    expected_total = forms.DecimalField(widget=forms.HiddenInput, required=False)

    FIELD_ERRORS = {"email": "email", "shipping_address.name": "name", "name": "name", "line1": "line1",
                    "line2": "line2", "city": "city", "postal_code": "postal_code", "country": "country",
                    "shipping_address.country": "country", "payment.card_number": "card_number",
                    "shipping_method": "shipping_method", "promo_code": "promo_code",
                    **{f"shipping_address.{k}": k for k in ("line1", "line2", "city", "postal_code", "region",
                                                            "phone")}}

    def __init__(self, *args, methods: tuple[str, ...] = (), shipping: tuple = (), currency: str = "", **kwargs):
        """``methods``: the shop's ways to pay, best first (payments.services.payment_methods). The page pays
        with the first: Stripe's hosted page when Stripe is configured (no card field here at all), else the test
        gateway's card numbers (test mode only)."""
        super().__init__(*args, **kwargs)
        # ``shipping``: the methods that deliver to the address (shipping.types.ShippingQuote), cheapest first
        self.fields["shipping_method"].choices = [
            (q.code, f"{q.name} · {q.price:.2f} {currency}" + (f" ({q.estimate})" if q.estimate else ""))
            for q in shipping if q.code]
        if not self.fields["shipping_method"].choices:
            del self.fields["shipping_method"]  # the shop ships free: nothing to choose
        self.method = next((m for m in methods if m in ("stripe_checkout", "card")), "")
        if self.method != "card":
            del self.fields["card_number"]

    @staticmethod
    def new_key() -> str:
        return f"page-{uuid.uuid4()}"

    def as_checkout_body(self, cart_token: str) -> dict:
        d = self.cleaned_data
        payment = {"method": self.method}
        if self.method == "card":
            payment["card_number"] = d["card_number"]
        return {
            "cart_token": cart_token,
            "email": d["email"],
            "shipping_address": {k: d[k] for k in ("name", "line1", "line2", "city", "region", "postal_code",
                                                   "country", "phone")},
            "shipping_method": d.get("shipping_method") or "",
            "promo_code": d.get("promo_code") or "",
            "payment": payment,
            "expected_total": str(d["expected_total"]) if d.get("expected_total") is not None else None,
        }


class PromoCodeForm(forms.ModelForm):
    """The admin's promo code: stored in capitals, unique whatever the case it is typed in, and refused at its
    field for terms that could never work (services.promo_code_problems, the command's rules too): a code with a
    space, one ending before it starts, a discount of 0 or over 100%, a limit of 0 or below the uses already taken,
    a product or category the catalogue does not have (a mistyped slug made a code that applied to nothing)."""

    # Set by the admin when this form passed and its save was then refused: checkouts took uses meanwhile, so many
    # in all now (PromoCodeAdmin.changeform_view).
    uses_meanwhile: int | None = None

    class Meta:
        model = PromoCode
        fields = ["code", "kind", "value", "products", "categories", "min_subtotal", "starts_at", "ends_at",
                  "max_uses", "max_uses_per_customer", "is_active"]

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if PromoCode.objects.filter(code=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(f"A promo code {code} already exists.")
        return code

    def clean(self):
        data = super().clean()
        uses = PromoCode.objects.filter(pk=self.instance.pk).values_list("uses", flat=True).first() or 0
        problems = services.promo_code_problems(
            code=data.get("code") or self.data.get("code", ""), kind=data.get("kind", ""), value=data.get("value"),
            max_uses=data.get("max_uses"), max_uses_per_customer=data.get("max_uses_per_customer"),
            min_subtotal=data.get("min_subtotal"), starts_at=data.get("starts_at"), ends_at=data.get("ends_at"),
            products=data.get("products") or [], categories=data.get("categories") or [], uses=uses)
        if self.uses_meanwhile is not None:
            self.add_error("max_uses", f"Nothing was saved: checkouts used this code meanwhile, and it has now been "
                                       f"used {self.uses_meanwhile} times; its limit cannot be lower (switch it off "
                                       "to stop it).")
        for field, message in problems.items():
            if field not in self.errors:  # (a field's own error, e.g. a taken code, says it first)
                self.add_error(field, message)
        return data

    def validate_constraints(self):
        """The database's checks are the fields' own above, said in words; Django's would name a constraint."""


class RefundForm(forms.Form):
    """Staff refund: all that is left, or part of it; and, per order line, how many units go back on the shelf
    (a field ``restock_<line id>``, at most the units sold on it and not yet returned)."""

    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0.01, required=False,
                                help_text="Leave empty to refund everything not yet refunded.")
    reason = forms.CharField(max_length=200)
    key = forms.CharField(widget=forms.HiddenInput)  # one refund per form, however often it is submitted

    def __init__(self, *args, lines: Iterable[OrderLine] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            left = line.quantity - line.returned_quantity
            # Never `disabled` when nothing is left: Django would ignore the units a form opened earlier sends,
            # and refund the money without them. Past what is left, the form says so instead.
            self.fields[f"restock_{line.pk}"] = forms.IntegerField(
                min_value=0, max_value=left, required=False, initial=0,
                widget=forms.NumberInput(attrs={"readonly": True} if left == 0 else {}),
                error_messages={"max_value": f"Only {left} unit{'s' if left != 1 else ''} of {line.sku} can "
                                             "still go back (the rest already did)."},
                label=f"Units of {line.sku} to put back in stock")

    def refund_fields(self) -> list[forms.BoundField]:
        """The refund's own fields, shown above the table of lines."""
        return [self["amount"], self["reason"]]

    def restock_rows(self) -> list[tuple[OrderLine, forms.BoundField]]:
        """Each order line with its field, for the page's table."""
        return [(line, self[f"restock_{line.pk}"]) for line in self.lines]

    def restock_lines(self) -> dict[str, int]:
        """SKU -> units to put back, from the cleaned form; lines left empty or at 0 are not named."""
        wanted: dict[str, int] = {}
        for line in self.lines:
            units = self.cleaned_data.get(f"restock_{line.pk}") or 0
            if units:
                wanted[line.sku] = wanted.get(line.sku, 0) + units
        return wanted
