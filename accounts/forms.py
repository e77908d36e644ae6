"""Sign-up: Django's UserCreationForm with the e-mail address a receipt goes to; password reset: Django's form,
with its e-mail sent from the outbox."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm

from . import services


class SignUpForm(UserCreationForm):
    # No "this address already has an account" error: that would tell anyone which addresses have accounts.
    # services.account_sign_up writes to the address instead.
    email = forms.EmailField(help_text="Receipts and password resets go here. We'll send a link to confirm it.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


class PasswordResetRequestForm(PasswordResetForm):
    """Django's form, but the request only records that a reset was asked for (services.account_password_reset):
    it does the same work whether or not the address has an account, so neither the answer nor its timing tells
    (Django's own form sends the e-mail inside the request, only when there is an account)."""

    def save(self, **_):
        services.account_password_reset(email=self.cleaned_data["email"])
