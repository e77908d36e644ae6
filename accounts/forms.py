"""Sign-up: Django's UserCreationForm with the e-mail address a receipt goes to."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm


class SignUpForm(UserCreationForm):
    # No "this address already has an account" error: that would tell anyone which addresses have accounts.
    # services.account_sign_up writes to the address instead.
    email = forms.EmailField(help_text="Receipts and password resets go here. We'll send a link to confirm it.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
