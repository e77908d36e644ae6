"""The cart's pages: /cart/ and the add, update and remove forms (POST, CSRF-protected, no JavaScript needed)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from store.core import ratelimit
from store.core.exceptions import ApplicationError

from . import services
from .forms import AddToCartForm, PromoCodeForm, RemoveLineForm, UpdateLineForm
from .types import CartNotFound, CartUnavailable, InsufficientStock

SESSION_KEY = services.SESSION_KEY
PROMO_SESSION_KEY = services.PROMO_SESSION_KEY


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def current_token(request, *, create: bool = False) -> str | None:
    """This shopper's cart token: from the session, else (signed in) their saved cart, else a new one if asked."""
    token = services.cart_token_of(session_token=request.session.get(SESSION_KEY), user_id=_user_id(request))
    if token is None and create:
        token = services.cart_create(user_id=_user_id(request)).token
    if token is not None and request.session.get(SESSION_KEY) != token:
        request.session[SESSION_KEY] = token
    return token


def _back(request, fallback: str, *, sku: str = ""):
    """Back to the page the form was on (``next``, else the Referer) when it is this shop's; else ``fallback``. Only
    an address goes back: a word (redirect() would read it as a view's name) or text with a NUL is no address.
    ``sku``: the variant the shopper chose, named in the address's fragment for the product page's script to choose
    again (a fragment, so the cached page is the same one)."""
    target = request.POST.get("next") or request.META.get("HTTP_REFERER") or fallback
    if "/" not in target or "\x00" in target or not url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = fallback
    if sku and target != fallback and "#" not in target:
        target += "#" + urlencode({"sku": sku})
    return HttpResponseRedirect(target)


def _problem(request, exc: ApplicationError):
    if exc.status == 429:
        response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, CartUnavailable):
        response = render(request, "503.html", {"message": exc.message}, status=503)
        response["Retry-After"] = "5"
        return response
    return None


def cart_page(request):
    try:
        token = current_token(request)
        cart = services.cart_get(token=token, user_id=_user_id(request)) if token else None
    except CartNotFound:
        request.session.pop(SESSION_KEY, None)
        cart = None
    except CartUnavailable as exc:
        return _problem(request, exc)
    try:
        checkout_url = reverse("orders:checkout")
    except NoReverseMatch:
        checkout_url = None  # checkout arrives with its own issue
    code = request.session.get(PROMO_SESSION_KEY, "")
    promo = services.cart_promo(token=token, user_id=_user_id(request), code=code) if cart and cart.lines and code \
        else None
    estimate = services.cart_estimate(token=token, user_id=request.user.pk, code=promo.code if promo else "") \
        if cart and cart.lines and request.user.is_authenticated else None
    return render(request, "cart/cart.html", {
        "cart": cart, "checkout_url": checkout_url, "promo": promo, "promo_form": PromoCodeForm(), "estimate": estimate,
        "total": cart.subtotal - promo.discount if promo else None,
        "cart_line_count": sum(line.quantity for line in cart.lines) if cart else 0})  # the badge: units


@require_POST
def add(request):
    form = AddToCartForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request, reverse("cart:page"))
    try:
        ratelimit.check(request, "cart")
        token = current_token(request, create=True)
        try:
            change = services.cart_add(token=token, user_id=_user_id(request), **form.cleaned_data)
        except CartNotFound:  # the session's cart expired: start a fresh one
            request.session.pop(SESSION_KEY, None)
            token = current_token(request, create=True)
            change = services.cart_add(token=token, user_id=_user_id(request), **form.cleaned_data)
    except ApplicationError as exc:
        response = _problem(request, exc)
        if response is not None:
            return response
        messages.error(request, exc.message)
        kept = form.cleaned_data["sku"] if isinstance(exc, InsufficientStock) else ""
        return _back(request, reverse("cart:page"), sku=kept)
    messages.success(request, f"Added {form.cleaned_data['quantity']} × {change.line.name} to your cart.")
    return redirect("cart:page")


def _change(request, form_class, action):
    """Run ``action(token, data)``, which answers what it did; the cart page then says so (or why not)."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a quantity from 0 to 99.")
        return redirect("cart:page")
    try:
        ratelimit.check(request, "cart")
        token = current_token(request)
        if token is None:
            raise CartNotFound()
        done = action(token, form.cleaned_data)
    except ApplicationError as exc:
        response = _problem(request, exc)
        if response is not None:
            return response
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("cart:page")


def _remove_line(request, token: str, sku: str) -> str:
    """Remove a line, answering which: its name is read before it goes (a removed line has none to report)."""
    name = next((line.name for line in services.cart_get(token=token, user_id=_user_id(request)).lines
                 if line.sku == sku), "the item")
    services.cart_remove(token=token, sku=sku, user_id=_user_id(request))
    return f"Removed {name} from your cart."


@require_POST
def update(request):
    def set_quantity(token, data):
        if data["quantity"] == 0:
            return _remove_line(request, token, data["sku"])
        line = services.cart_set_quantity(token=token, sku=data["sku"], quantity=data["quantity"],
                                          user_id=_user_id(request)).line
        return f"Updated: {line.quantity} × {line.name} in your cart."
    return _change(request, UpdateLineForm, set_quantity)


@require_POST
def remove(request):
    return _change(request, RemoveLineForm, lambda token, data: _remove_line(request, token, data["sku"]))


@require_POST
def promo(request):
    """Apply a promo code to the cart (or, with ``remove``, forget it). The cart remembers only the code, in the
    session; whether it applies and what it takes off is the checkout's to say, asked through cart_promo, so the
    cart page shows the discount the checkout will give. Guessing codes is rate limited ("promo")."""
    if "remove" in request.POST:
        if request.session.pop(PROMO_SESSION_KEY, None):
            messages.success(request, "Promo code removed.")
        return redirect("cart:page")
    form = PromoCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["code"][0])
        return redirect("cart:page")
    try:
        ratelimit.check(request, "promo")
        token = current_token(request)
        if token is None:
            raise CartNotFound()
        applied = services.cart_promo(token=token, user_id=_user_id(request), code=form.cleaned_data["code"])
    except ApplicationError as exc:
        response = _problem(request, exc)
        if response is not None:
            return response
        messages.error(request, exc.message)
        return redirect("cart:page")
    if applied.problem:
        messages.error(request, applied.problem)
    else:
        request.session[PROMO_SESSION_KEY] = applied.code
        messages.success(request, f"Promo code {applied.code} applied.")
    return redirect("cart:page")
