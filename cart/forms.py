"""The cart's page forms: plain POST forms that work without JavaScript."""

from django import forms

from .services import MAX_QUANTITY


class AddToCartForm(forms.Form):
    sku = forms.CharField(max_length=64, error_messages={"required": "Please choose an option."})
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1,
                                  error_messages={"invalid": f"Enter a whole number from 1 to {MAX_QUANTITY}."})


class UpdateLineForm(forms.Form):
    sku = forms.CharField(max_length=64)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY,
                                  error_messages={"invalid": f"Enter a whole number from 0 to {MAX_QUANTITY}."})


class RemoveLineForm(forms.Form):
    sku = forms.CharField(max_length=64)


class PromoCodeForm(forms.Form):
    """A promo code entered on the cart page; the checkout page starts from it. Codes are upper case."""

    code = forms.CharField(max_length=40, label="Promo code",
                           error_messages={"required": "Enter a promo code.",
                                           "max_length": "A promo code is at most 40 characters."})

    def clean_code(self) -> str:
        return self.cleaned_data["code"].upper()
