"""The address book's form (the checkout's address fields, the same checks)."""

from django import forms

from . import services


class AddressForm(forms.Form):
    name = forms.CharField(max_length=200, label="Full name")
    line1 = forms.CharField(max_length=200, label="Address")
    line2 = forms.CharField(max_length=200, required=False, label="Apartment, suite (optional)")
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=60, required=False, label="State / province / region")
    postal_code = forms.CharField(max_length=20, label="Postal code")
    country = forms.ChoiceField(initial="US", choices=lambda: services.shipping_countries())
    phone = forms.CharField(max_length=30, required=False, label="Phone (optional)")
    is_default = forms.BooleanField(required=False, label="My default shipping address")
