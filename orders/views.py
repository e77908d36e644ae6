"""Checkout, order status and order history pages."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render

from cart import services as cart_services
from cart.types import CartNotFound, CartUnavailable
from store.core import ratelimit
from store.core.exceptions import ApplicationError

from . import queue, services
from .forms import CheckoutForm
from .types import CheckoutAnswer

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
    initial = {"idempotency_key": CheckoutForm.new_key(), "expected_total": cart.subtotal if cart else None,
               "email": request.user.email if request.user.is_authenticated else ""}
    form = CheckoutForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ratelimit.check(request, "checkout")
            key, checkout_body = form.cleaned_data["idempotency_key"], form.as_checkout_body(token or "")
            if not queue.checkout_slot_take():  # over the in-flight limit: wait in line
                queued = queue.checkout_enqueue(idempotency_key=key, body=checkout_body, user_id=_user_id(request))
                return redirect(queued.body.get("poll_url", "").replace("/api/v1/checkout/queue/", "/checkout/line/"))
            try:
                answer = services.order_place(idempotency_key=key, body=checkout_body, user_id=_user_id(request))
            finally:
                queue.checkout_slot_give()
        except ApplicationError as exc:
            if exc.status == 429:
                return render(request, "429.html", {"retry_after": exc.retry_after}, status=429)
            if exc.status == 503:
                response = render(request, "503.html", {"message": exc.message}, status=503)
                response["Retry-After"] = str(exc.retry_after)
                return response
            answer = CheckoutAnswer(status=exc.status, body=exc.as_dict())
        if answer.status in (201, 202):
            number, access = answer.body["number"], answer.body.get("access_token", "")
            request.session.setdefault(TOKENS_SESSION_KEY, {})[number] = access
            request.session.modified = True
            return redirect(f"/orders/{number}/?token={access}")
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
    return render(request, "orders/checkout.html", {"form": form, "cart": cart})


def in_line(request, ticket):
    """'You're in line': reloads itself every two seconds (no JavaScript needed) until the checkout is decided."""
    try:
        answer = queue.checkout_poll(ticket=ticket)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    if answer.status == 202 and answer.body.get("status") == "queued":
        return render(request, "orders/in_line.html", {"position": answer.body["position"]})
    if answer.status in (201, 202):
        number, access = answer.body["number"], answer.body.get("access_token", "")
        request.session.setdefault(TOKENS_SESSION_KEY, {})[number] = access
        request.session.modified = True
        return redirect(f"/orders/{number}/?token={access}")
    return render(request, "orders/in_line.html", {"problem": answer.body.get("message", "")}, status=answer.status)


def _show_problem(form, body: dict) -> None:
    field = CheckoutForm.FIELD_ERRORS.get(body.get("field", ""))
    message = body.get("message") or "Something went wrong; please try again."
    if body.get("code") in ("payment_declined", "invalid_card"):
        field = "card_number"
    form.add_error(field, message)


def order_page(request, number):
    token = request.GET.get("token") or request.session.get(TOKENS_SESSION_KEY, {}).get(number, "")
    try:
        order = services.order_get(number=number, token=token, user_id=_user_id(request),
                                   is_staff=request.user.is_staff)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    return render(request, "orders/order.html", {"order": order})


@login_required
def history(request):
    return render(request, "orders/history.html", {"orders": services.order_history(user_id=request.user.pk)})
