"""Shopper accounts: sign up, log in (merging the guest cart), log out, password reset, the account page."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from cart import services as cart_services
from store.core import ratelimit
from store.core.exceptions import ApplicationError

from . import services
from .forms import SignUpForm


def _after_sign_in(request, user):
    guest_token = request.session.get(cart_services.SESSION_KEY)
    login(request, user)  # keeps the session's data under a new key
    token, notes = services.account_signed_in(user_id=user.pk, guest_cart_token=guest_token)
    if token:
        request.session[cart_services.SESSION_KEY] = token
    for note in notes:
        messages.info(request, note)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        try:
            ratelimit.check(request, "login")
        except ApplicationError as exc:
            response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        _after_sign_in(self.request, form.get_user())
        return redirect(self.get_success_url())


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        _after_sign_in(request, user)
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect(request.GET.get("next") or "accounts:home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
def home(request):
    return render(request, "accounts/home.html")


logout = auth_views.LogoutView.as_view(next_page="/")
password_reset = auth_views.PasswordResetView.as_view(success_url=reverse_lazy("accounts:password_reset_done"))
password_reset_done = auth_views.PasswordResetDoneView.as_view()
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    success_url=reverse_lazy("accounts:password_reset_complete"))
password_reset_complete = auth_views.PasswordResetCompleteView.as_view()
