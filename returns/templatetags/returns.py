"""The returns of an order on its page, and a shopper's returns on /account/: composed here, from above, so that
neither orders nor accounts imports this app (docs/design.md)."""

from django import template
from django.conf import settings

from orders.types import OrderNotFound
from returns import services
from returns.forms import ReturnRequestForm, order_token, restocking_fees

register = template.Library()


@register.inclusion_tag("returns/_order_returns.html", takes_context=True)
def order_returns(context, order):
    """The order's returns and, for its owner or the holder of its link, the "Return items" form while something
    is left to return; no section at all when there is neither."""
    request = context["request"]
    user_id = request.user.pk if request.user.is_authenticated else None
    try:
        options = services.return_options(order_number=order.number, user_id=user_id,
                                          token=order_token(request, order.number))
    except OrderNotFound:  # staff reading the order: its returns, no form
        options = None
    returns = services.returns_of_order(order_number=order.number)
    offer = options is not None and not options.nothing_left
    if not returns and not offer:
        return {"hidden": True}
    return {"request": request, "csrf_token": context.get("csrf_token"), "number": order.number,
            "returns": returns, "may_return": options is not None, "offer": offer, "options": options,
            "form": ReturnRequestForm(options=options) if options else None, "token": request.GET.get("token", ""),
            "window_days": settings.RETURN_WINDOW_DAYS, "fees": restocking_fees()}


@register.inclusion_tag("returns/_account_returns.html", takes_context=True)
def account_returns(context):
    request = context["request"]
    returns = services.returns_of_user(user_id=request.user.pk) if request.user.is_authenticated else []
    return {"returns": returns, "window_days": settings.RETURN_WINDOW_DAYS}
