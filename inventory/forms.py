"""Staff forms of inventory (admin)."""

from django import forms

from .models import FlashSale, StockLevel


class StockAdjustmentForm(forms.Form):
    ACTIONS = [
        ("receive", "Receive units (a delivery)"),
        ("write_off", "Write off units (damaged, lost)"),
        ("set", "Set on hand to a counted figure"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect, initial="receive")
    quantity = forms.IntegerField(min_value=0, max_value=1_000_000)
    reason = forms.CharField(max_length=255, help_text="Recorded in the ledger with your name.")

    def clean(self):
        data = super().clean()
        if data.get("action") in {"receive", "write_off"} and data.get("quantity") == 0:
            self.add_error("quantity", "Receive or write off at least one unit.")
        return data


class FlashSaleForm(forms.ModelForm):
    class Meta:
        model = FlashSale
        fields = ["sku", "starts_at", "active"]

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if not StockLevel.objects.filter(sku=sku).exists():
            raise forms.ValidationError("No stock is kept for this SKU.")
        return sku
