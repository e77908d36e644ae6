"""Staff forms of inventory (admin)."""

from django import forms


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
