"""The shopper's return pages: the "Return items" form of an order (owner, or the holder of its secret link) and
cancelling a return not yet received. The order page shows both through this app's template tags."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from orders.types import OrderNotFound
from store.core.exceptions import ApplicationError

from . import services
from .forms import ReturnRequestForm, order_token, restocking_fees
from .types import ReturnNotFound


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def _order_url(number: str, token: str) -> str:
    return f"/orders/{number}/" + (f"?{urlencode({'token': token})}" if token else "")


def request_return(request, number):
    token = order_token(request, number)
    try:
        options = services.return_options(order_number=number, user_id=_user_id(request), token=token)
    except OrderNotFound as exc:
        raise Http404(exc.message) from exc
    form = ReturnRequestForm(request.POST or None, options=options)
    if request.method == "POST" and not options.closed and form.is_valid():
        try:
            ret = services.return_request(order_number=number, request=form.as_request(),
                                          user_id=_user_id(request), token=token)
        except ApplicationError as exc:
            form.add_error(form.field_of(exc.extra.get("sku", "")), exc.message)
        else:
            messages.success(request, f"Return {ret.number} requested. We have sent you an e-mail with what to do "
                                      "next.")
            return redirect(_order_url(number, request.GET.get("token", "")))
    return render(request, "returns/request.html", {
        "form": form, "options": options, "number": number, "token": request.GET.get("token", ""),
        "window_days": settings.RETURN_WINDOW_DAYS, "fees": restocking_fees()})


@require_POST
def cancel_return(request, number):
    order_number = request.POST.get("order", "")
    back = _order_url(order_number, request.GET.get("token", ""))
    try:
        ret = services.return_cancel(number=number, user_id=_user_id(request), token=order_token(request, order_number))
    except ReturnNotFound as exc:
        raise Http404(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(request, f"Return {ret.number} cancelled.")
    return redirect(_order_url(ret.order_number, request.GET.get("token", "")))
