"""Shopper accounts: sign up, log in (merging the guest cart), log out, password reset, the account page.

Every form a stranger can post to here is rate limited (RATE_LIMITS login, login_account, signup, signup_email,
password_reset, password_reset_email): over a limit the answer is a 429 page with Retry-After and nothing else
happens — no password is checked, no e-mail is sent. Sign-up and password reset answer the same whether or not the
address has an account. A ``next`` parameter is followed only to this shop's own host.
"""

import functools

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from cart import services as cart_services
from store.core import ratelimit
from store.core.ratelimit import RateLimited

from . import services
from .forms import EmailChangeForm, LogInForm, PasswordResetRequestForm, SignUpForm


def _after_sign_in(request, user):
    guest_token = request.session.get(cart_services.SESSION_KEY)
    login(request, user)  # keeps the session's data under a new key
    # (guest orders join only with the address a link confirmed: services.account_signed_in)
    token, notes = services.account_signed_in(user_id=user.pk, guest_cart_token=guest_token)
    if token:
        request.session[cart_services.SESSION_KEY] = token
    for note in notes:
        messages.info(request, note)


def _too_many_requests(request, exc: RateLimited):
    response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def limit_log_in(view):
    """A log-in form's view (the shop's and the admin's, which share the limits: they sign in the same accounts).
    Each POST counts against ``login`` for the client and ``login_account`` for the account name tried, wherever it
    comes from; over either the answer is 429 before any password is checked."""

    @functools.wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            try:
                ratelimit.check(request, "login", name=request.POST.get(get_user_model().USERNAME_FIELD, ""))
            except RateLimited as exc:
                return _too_many_requests(request, exc)
        return view(request, *args, **kwargs)

    return limited


class LoginView(auth_views.LoginView):
    # Django's LoginView follows ``next`` only to this host (RedirectURLMixin.get_redirect_url).
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = LogInForm  # the username or the account's e-mail address

    def form_valid(self, form):
        _after_sign_in(self.request, form.get_user())
        # an address (Django checked it is this shop's), never redirect()'s reading of a word as a view's name
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetView(auth_views.PasswordResetView):
    # It answers "check your e-mail" whether or not the address has an account, after the same work either way
    # (PasswordResetRequestForm: the e-mail is sent from the outbox).
    form_class = PasswordResetRequestForm
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        try:
            ratelimit.check(request, "password_reset", name=request.POST.get("email", ""),
                            name_group="password_reset_email")
        except RateLimited as exc:
            return _too_many_requests(request, exc)
        return super().post(request, *args, **kwargs)


@require_http_methods(["GET", "POST"])
def signup(request):
    """A new account is confirmed by a link sent to its address; an address that already has an account gets a
    note saying so instead. Either way the page says "check your e-mail", so it tells no one which addresses have
    accounts (services.account_sign_up)."""
    if request.user.is_authenticated:
        return redirect("accounts:home")
    if request.method == "POST":
        try:  # per client, and per address: each sign-up e-mails the address given, whoever has it
            ratelimit.check(request, "signup", name=request.POST.get("email", ""), name_group="signup_email")
        except RateLimited as exc:
            return _too_many_requests(request, exc)
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.account_sign_up(username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                                 password=form.cleaned_data["password1"])
        return redirect("accounts:signup_sent")
    return render(request, "registration/signup.html", {"form": form})


def signup_sent(request):
    return render(request, "registration/signup_sent.html")


@require_http_methods(["GET", "POST"])
def activate(request, uidb64, token):
    """The link in the sign-up e-mail. GET only shows a button (mail scanners follow links); POST activates the
    account and signs it in, keeping the cart filled as a guest."""
    user = services.account_pending_activation(uidb64=uidb64, token=token)
    if user is None:
        return render(request, "registration/activate.html", {"valid": False}, status=400)
    if request.method == "GET":
        return render(request, "registration/activate.html", {"valid": True})
    services.account_activate(user=user)
    _after_sign_in(request, user)
    messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
    return redirect("accounts:home")


@login_required
def home(request):
    return render(request, "accounts/home.html")


@login_required
@require_http_methods(["GET", "POST"])
def email_change(request):
    """The new address gets a link; the address changes only when the shopper opens it, signed in (email_confirm).
    Rate limited (RATE_LIMITS email_change per client, email_change_account per account): each request e-mails
    an address of the asker's choosing, and checks a password."""
    if request.method == "POST":
        try:
            ratelimit.check(request, "email_change")
        except RateLimited as exc:
            return _too_many_requests(request, exc)
    form = EmailChangeForm(request.user, request.POST or None, initial={"email": request.user.email})
    if request.method == "POST" and form.is_valid():
        new_email = form.cleaned_data["email"]
        services.account_email_change_request(user=request.user, new_email=new_email)
        messages.info(request, f"We have sent a link to {new_email}. Open it within "
                               f"{services.EMAIL_CHANGE_MAX_AGE // 3600} hours, signed in, to make it your address; "
                               "until then your e-mails still go to your present address.")
        return redirect("accounts:home")
    return render(request, "accounts/change.html", {"form": form, "title": "Change your e-mail address",
                                                    "button": "Send a confirmation link"})


@login_required
@require_http_methods(["GET", "POST"])
def email_confirm(request, token):
    """The link sent to the new address: for the account that asked, signed in (others, and a stale or forged link,
    get a 400 page). GET only shows a button (mail scanners follow links); POST changes the address."""
    if request.method == "GET":
        new_email = services.account_email_change_pending(user=request.user, token=token)
        return render(request, "accounts/email_confirm.html", {"new_email": new_email},
                      status=200 if new_email else 400)
    changed = services.account_email_change_confirm(user=request.user, token=token)
    if changed is None:
        return render(request, "accounts/email_confirm.html", {"new_email": None}, status=400)
    new_email, notes = changed
    messages.success(request, f"Your e-mail address is now {new_email}.")
    for note in notes:
        messages.info(request, note)
    return redirect("accounts:home")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's: the old password, the new one twice; the shopper stays signed in here (others are signed out)."""

    template_name = "accounts/change.html"
    success_url = reverse_lazy("accounts:home")
    extra_context = {"title": "Change your password", "button": "Save password"}

    def form_valid(self, form):
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)


login_page = limit_log_in(LoginView.as_view())
# Django's LogoutView follows ``next`` only to this host, else goes to next_page.
logout = auth_views.LogoutView.as_view(next_page="/")
password_change = PasswordChangeView.as_view()
password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view()
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    success_url=reverse_lazy("accounts:password_reset_complete"))
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
