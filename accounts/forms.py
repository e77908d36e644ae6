"""Sign-up: Django's UserCreationForm with the e-mail address a receipt goes to; password reset: Django's form,
with its e-mail sent from the outbox."""

from django import forms
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, UserCreationForm

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


class LogInForm(AuthenticationForm):
    """Django's log-in form, taking the account's e-mail address as well as its username: an address is tried as
    the username of each active account that has it (a few at most), so the password decides, as it does for a
    username, and a wrong one is the same error either way."""

    MAX_ACCOUNTS_PER_ADDRESS = 5

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Username or e-mail address"
        self.fields["username"].widget.attrs["autocomplete"] = "username email"

    def clean(self):
        text, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if text and password and "@" in text:
            model = get_user_model()
            names = model.objects.filter(email__iexact=text.strip(), is_active=True).values_list(
                model.USERNAME_FIELD, flat=True)[:self.MAX_ACCOUNTS_PER_ADDRESS]
            for name in names:
                user = authenticate(self.request, username=name, password=password)
                if user is not None:
                    self.confirm_login_allowed(user)
                    self.user_cache = user
                    return self.cleaned_data
        return super().clean()


class EmailChangeForm(forms.Form):
    """A signed-in shopper's new e-mail address, confirmed with their password (a session left open on a shared
    computer must not redirect their receipts and password resets)."""

    email = forms.EmailField(label="New e-mail address",
                             help_text="Receipts and password resets go here once you open the link we send it.")
    password = forms.CharField(label="Your password",
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_email(self):
        if self.cleaned_data["email"].strip().lower() == (self.user.email or "").strip().lower():
            raise forms.ValidationError("That is your address already.")
        return self.cleaned_data["email"]

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your password.")
        return self.cleaned_data["password"]
