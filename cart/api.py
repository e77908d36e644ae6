"""The cart's JSON API (docs/api.md): a cart is named by its token; a signed-in shopper's cart answers only to them."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from store.core import ratelimit
from store.core.api import ApiView, Error
from store.core.requests import has_session

from . import services
from .types import Cart, InvalidQuantity

MAX_QUANTITY = services.MAX_QUANTITY


class CartLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                          help_text="null when the variant is no longer sold")
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartSerializer(serializers.Serializer):
    token = serializers.CharField()
    lines = CartLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    notices = serializers.ListField(child=serializers.CharField())


# What the views below accept (_sku, _quantity and the cart's services check it; these describe it for the schema).
# A SKU is at most 64 characters, not all of them whitespace (Python's: the \x1c-\x1f separators count too).
SKU_PATTERN = r"[^\s\x1c-\x1f]"
LineInput = inline_serializer("CartLineInput", {
    "sku": serializers.RegexField(SKU_PATTERN, max_length=64, help_text="a variant's SKU, from GET products/<slug>/"),
    "quantity": serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY,
                                         help_text="added to the line's quantity; the line holds at most 99"),
})


class QuantityInput(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, help_text="0 removes the line")

    # drf-spectacular documents a PATCH body as partial (every field optional), as DRF's generic views read one:
    # this view needs its quantity, so the body is never partial.
    partial = property(lambda self: False, lambda self, value: None)

    class Meta:
        ref_name = "CartQuantityInput"


CART_ERRORS = {
    404: OpenApiResponse(Error, description="cart_not_found: no such cart, or not this shopper's"),
    503: OpenApiResponse(Error, description="cart_unavailable (the cart store is down), or overloaded"),
}
WRITE_ERRORS = {
    **CART_ERRORS,
    400: OpenApiResponse(Error, description="invalid_quantity, or invalid_input naming the field"),
    409: OpenApiResponse(Error, description="insufficient_stock (with available), or cart_full"),
    429: OpenApiResponse(Error, description="rate_limited, with Retry-After"),
}


def _body(cart: Cart) -> dict:
    return {
        "token": cart.token,
        "lines": [{"sku": line.sku, "name": line.name, "quantity": line.quantity,
                   "unit_price": f"{line.unit_price:.2f}" if line.unit_price is not None else None,
                   "line_total": f"{line.line_total:.2f}"} for line in cart.lines],
        "subtotal": f"{cart.subtotal:.2f}",
        "currency": cart.currency,
        "notices": list(cart.notices),
    }


def _user_id(request):
    return request.user.pk if has_session(request) and request.user.is_authenticated else None


def _quantity(data, *, required: bool = True):
    """The quantity from a JSON body: an integer (a float with no fraction, like 2.0, is not accepted)."""
    if not isinstance(data, dict) or "quantity" not in data:
        raise InvalidQuantity("Send a quantity: a whole number from 1 to 99.")
    return data["quantity"]


def _sku(data) -> str:
    sku = data.get("sku") if isinstance(data, dict) else None
    if not isinstance(sku, str) or not sku.strip() or len(sku) > 64:
        raise serializers.ValidationError({"sku": ["Send the SKU of a variant, e.g. from GET products/<slug>/."]})
    return sku.strip()


class CartCreateApi(ApiView):
    @extend_schema(request=None, responses={201: CartSerializer, 429: WRITE_ERRORS[429], 503: CART_ERRORS[503]})
    def post(self, request):
        ratelimit.check(request, "cart")
        cart = services.cart_create(user_id=_user_id(request))
        return Response(_body(cart), status=status.HTTP_201_CREATED)


class CartDetailApi(ApiView):
    @extend_schema(responses={200: CartSerializer, **CART_ERRORS})
    def get(self, request, token):
        return Response(_body(services.cart_get(token=token, user_id=_user_id(request))))


class CartLinesApi(ApiView):
    @extend_schema(request=LineInput, responses={
        200: CartSerializer, 201: CartSerializer, **WRITE_ERRORS,
        404: OpenApiResponse(Error, description="cart_not_found, or unknown_sku"),
    })
    def post(self, request, token):
        ratelimit.check(request, "cart")
        data = request.data
        change = services.cart_add(token=token, sku=_sku(data), quantity=_quantity(data), user_id=_user_id(request))
        return Response(_body(change.cart), status=status.HTTP_201_CREATED if change.created_line else 200)


class CartLineApi(ApiView):
    @extend_schema(request=QuantityInput, responses={
        200: CartSerializer, **WRITE_ERRORS,
        404: OpenApiResponse(Error, description="cart_not_found, or unknown_sku"),
    })
    def patch(self, request, token, sku):
        ratelimit.check(request, "cart")
        change = services.cart_set_quantity(token=token, sku=sku, quantity=_quantity(request.data),
                                            user_id=_user_id(request))
        return Response(_body(change.cart))

    @extend_schema(request=None, responses={200: CartSerializer, **CART_ERRORS,
                                            429: WRITE_ERRORS[429]})
    def delete(self, request, token, sku):
        ratelimit.check(request, "cart")
        return Response(_body(services.cart_remove(token=token, sku=sku, user_id=_user_id(request))))
