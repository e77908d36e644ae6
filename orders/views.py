"""Checkout, order status and order history pages."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render

from cart import services as cart_services
from cart.types import CartNotFound, CartUnavailable
from payments import services as payment_services
from payments.types import ReturnUrls
from shipping import services as shipping_services
from store.core import ratelimit
from store.core.exceptions import ApplicationError

from . import checkout as checkout_use_case
from . import services
from .forms import CheckoutForm

TOKENS_SESSION_KEY = "order_tokens"


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def _cart(request):
    token = cart_services.cart_token_of(session_token=request.session.get(cart_services.SESSION_KEY),
                                        user_id=_user_id(request))
    if token is None:
        return None, None
    try:
        return token, cart_services.cart_get(token=token, user_id=_user_id(request))
    except CartNotFound:
        return None, None


def checkout(request):
    try:
        token, cart = _cart(request)
    except CartUnavailable as exc:
        return render(request, "503.html", {"message": exc.message}, status=503)
    if request.method != "POST" and (cart is None or not cart.lines):
        return redirect("cart:page")  # (a POST goes on: a double-clicked form must get its order back)
    methods = payment_services.payment_methods()
    initial = {"idempotency_key": CheckoutForm.new_key(), "country": "US",
               "email": request.user.email if request.user.is_authenticated else "",
               "promo_code": request.session.get(cart_services.PROMO_SESSION_KEY, "")}  # entered on the cart page
    book = shipping_services.address_book(user_id=request.user.pk) if request.user.is_authenticated else []
    if book and request.method != "POST":  # the default address, or the one picked from the book (?address=id)
        picked = next((a for a in book if str(a.id) == request.GET.get("address")), book[0])
        initial.update(picked.as_dict())
    if request.method == "POST" and "update" in request.POST:
        # "Update totals": the address, method or code changed; nothing is placed, the page is priced again.
        initial.update({k: v for k, v in request.POST.items() if k in CheckoutForm.base_fields
                        and k not in ("idempotency_key", "expected_total", "card_number")})
        tried = str(initial.get("promo_code") or "").strip().upper()
        if tried and tried != request.session.get(cart_services.PROMO_SESSION_KEY):
            try:  # a new code tried here counts as on the cart page: guessing codes stays slow
                ratelimit.check(request, "promo")
            except ApplicationError as exc:
                return render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
    quote = _quote(request, token, request.POST if request.method == "POST" else initial)
    if request.method == "POST" and "update" in request.POST and quote is not None:
        _remember_promo(request, quote.promo_code)  # the cart page shows what the checkout applies
    if quote is not None:
        # (a code that cannot be used stays in its field, its reason beside it, until the shopper changes it)
        initial.update(expected_total=quote.total, shipping_method=quote.shipping_method,
                       promo_code=quote.promo_code or str(initial.get("promo_code") or "").strip().upper())
    shipping = quote.methods if quote else ()
    currency = quote.currency if quote else ""
    bound = request.POST if request.method == "POST" and "update" not in request.POST else None
    form = CheckoutForm(bound, initial=initial, methods=methods, shipping=shipping, currency=currency)
    if bound is not None and quote is not None and quote.shipping_problem and form.has_error("shipping_method"):
        # A method listed for the country the page showed, not for the one sent: the shop's sentence (where it does
        # not deliver, what does) at the field, in place of Django's "not one of the available choices"
        form.errors["shipping_method"] = form.error_class([quote.shipping_problem])
    if bound is not None and methods and form.is_valid():
        try:
            ratelimit.check(request, "checkout")
        except ApplicationError as exc:
            return render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
        urls = ReturnUrls(success_url=request.build_absolute_uri("/checkout/return/") + "?number={number}",
                          cancel_url=request.build_absolute_uri("/checkout/cancel/") + "?number={number}")
        answer = checkout_use_case.checkout_submit(
            key=form.cleaned_data["idempotency_key"], body=form.as_checkout_body(token or ""),
            user_id=_user_id(request), urls=urls)
        if answer.status == 503:
            response = render(request, "503.html", {"message": answer.body.get("message", "")}, status=503)
            response["Retry-After"] = str(answer.retry_after or 5)
            return response
        if answer.status == 429:
            return render(request, "429.html", {"retry_after": answer.retry_after}, status=429)
        if answer.body.get("status") == "queued":  # over the in-flight limit: wait in line
            return redirect(answer.body["poll_url"].replace("/api/v1/checkout/queue/", "/checkout/line/"))
        if answer.status in (201, 202):
            return _to_order(request, answer.body)
        if answer.body.get("code") in ("cart_empty", "cart_not_found"):
            return redirect("cart:page")
        _show_problem(form, answer.body)
        # A fresh key: correcting the form (another card, fewer items) is a new checkout, not a replay.
        data = form.data.copy()
        data["idempotency_key"] = CheckoutForm.new_key()
        if answer.body.get("code") == "price_changed":
            data["expected_total"] = answer.body["total"]
        form.data = data
        token, cart = _cart(request)
        quote = _quote(request, token, data)
    if cart is None:  # (a POST without a cart, e.g. its session expired)
        return redirect("cart:page")
    return render(request, "orders/checkout.html", {"form": form, "cart": cart, "methods": methods,
                                                    "quote": quote, "book": book})


def _remember_promo(request, code: str) -> None:
    if code:
        request.session[cart_services.PROMO_SESSION_KEY] = code
    else:
        request.session.pop(cart_services.PROMO_SESSION_KEY, None)


def _quote(request, token: str | None, data):
    """The page's summary for the address, method and code in ``data`` (None if the cart cannot be priced: the
    checkout itself then says why)."""
    if not token:
        return None
    try:
        return checkout_use_case.checkout_quote(
            cart_token=token, user_id=_user_id(request), country=str(data.get("country") or "US"),
            region=str(data.get("region") or ""), email=str(data.get("email") or ""),
            shipping_method=str(data.get("shipping_method") or ""), promo_code=str(data.get("promo_code") or ""))
    except ApplicationError:
        return None


def _to_order(request, body: dict):
    """After a checkout: to the payment provider's page when the shopper pays there, else to the order. The order's
    secret stays in the session, so the order page opens without it in the address."""
    number, access = body["number"], body.get("access_token", "")
    request.session.pop(cart_services.PROMO_SESSION_KEY, None)  # used (or given back if the order is cancelled)
    request.session.setdefault(TOKENS_SESSION_KEY, {})[number] = access
    request.session.modified = True
    action = body.get("next_action") or {}
    if action.get("type") == "redirect_to_url":
        return HttpResponseRedirect(action["url"], status=303)
    return redirect(f"/orders/{number}/")


def checkout_return(request):
    """Stripe's hosted page sends the shopper back here after paying: Stripe is asked at once (its webhook may be
    on its way too; whichever comes first confirms the order, once), then the order page."""
    number = request.GET.get("number", "")
    if _owned(request, number) is None:  # (asking Stripe is harmless; showing the order is the owner's)
        try:  # but not for anyone, as often as they like: each view is a call to Stripe's API
            ratelimit.check(request, "checkout")
        except ApplicationError as exc:
            response = render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        try:
            order = checkout_use_case.checkout_returned(number=number, cart_token=None)
        except ApplicationError as exc:
            raise Http404(exc.message) from exc
        return render(request, "orders/returned.html", {"order": order})
    order = checkout_use_case.checkout_returned(number=number, cart_token=_cart_token(request))
    return redirect(f"/orders/{order.number}/")


def checkout_cancel(request):
    """Stripe's hosted page sends the shopper back here when they give up: they may go back to pay, or cancel the
    order (a POST, so no link can cancel someone's order), which expires the payment page and frees the stock."""
    number = request.POST.get("number") or request.GET.get("number", "")
    order = _owned(request, number)
    if order is None:
        raise Http404("No such order.")
    if request.method == "POST" and order.status == "pending_payment":
        try:
            services.order_cancel(number=number, note="the shopper left the payment page", notify=False)
        except ApplicationError as exc:
            return render(request, "orders/payment_cancelled.html", {"order": order, "problem": exc.message})
        return redirect("cart:page")
    if order.status != "pending_payment":
        return redirect(f"/orders/{number}/")
    next_url = checkout_use_case.checkout_payment_url(number=number)
    return render(request, "orders/payment_cancelled.html", {"order": order, "pay_url": next_url})


def _owned(request, number: str):
    token = request.session.get(TOKENS_SESSION_KEY, {}).get(number, "")
    try:
        return services.order_get(number=number, token=token, user_id=_user_id(request))
    except ApplicationError:
        return None


def _cart_token(request) -> str | None:
    return cart_services.cart_token_of(session_token=request.session.get(cart_services.SESSION_KEY),
                                       user_id=_user_id(request))


def in_line(request, ticket):
    """'You're in line': reloads itself every two seconds (no JavaScript needed) until the checkout is decided."""
    try:
        answer = checkout_use_case.checkout_poll(ticket=ticket)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if answer.status == 202 and answer.body.get("status") == "queued":
        return render(request, "orders/in_line.html", {"position": answer.body["position"]})
    if answer.status in (201, 202):
        return _to_order(request, answer.body)
    return render(request, "orders/in_line.html", {"problem": answer.body.get("message", "")}, status=answer.status)


def _show_problem(form, body: dict) -> None:
    field = CheckoutForm.FIELD_ERRORS.get(body.get("field", ""))
    message = body.get("message") or "Something went wrong; please try again."
    if body.get("code") == "price_changed":  # most often the shopper's own change (a method, a code) not yet totalled
        message = (f"The total is now {body['total']} {body.get('currency', '')} for this address, shipping method "
                   "and promo code, at today's prices. Check it and press Pay again.")
    if body.get("code") in ("payment_declined", "invalid_card") and "card_number" in form.fields:
        field = "card_number"
    form.add_error(field, message)


def order_page(request, number):
    token = request.GET.get("token") or request.session.get(TOKENS_SESSION_KEY, {}).get(number, "")
    try:
        order = services.order_get(number=number, token=token, user_id=_user_id(request),
                                   is_staff=request.user.has_perm("orders.view_order"))
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "orders/order.html", {"order": order})


@login_required
def history(request):
    return render(request, "orders/history.html", {"orders": services.order_history(user_id=request.user.pk)})
