"""The cart's JSON API (API.md): a cart is named by its token; a signed-in shopper's cart answers only to them."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from store.core import ratelimit
from store.core.requests import has_session

from . import services
from .types import Cart, InvalidQuantity


class CartLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class CartSerializer(serializers.Serializer):
    token = serializers.CharField()
    lines = CartLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    notices = serializers.ListField(child=serializers.CharField())


LineInput = inline_serializer("CartLineInput", {"sku": serializers.CharField(), "quantity": serializers.IntegerField()})
QuantityInput = inline_serializer("CartQuantityInput", {"quantity": serializers.IntegerField()})


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


class CartCreateApi(APIView):
    @extend_schema(request=None, responses={201: CartSerializer})
    def post(self, request):
        ratelimit.check(request, "cart")
        cart = services.cart_create(user_id=_user_id(request))
        return Response(_body(cart), status=status.HTTP_201_CREATED)


class CartDetailApi(APIView):
    @extend_schema(responses=CartSerializer)
    def get(self, request, token):
        return Response(_body(services.cart_get(token=token, user_id=_user_id(request))))


class CartLinesApi(APIView):
    @extend_schema(request=LineInput, responses={200: CartSerializer, 201: CartSerializer})
    def post(self, request, token):
        ratelimit.check(request, "cart")
        data = request.data
        change = services.cart_add(token=token, sku=_sku(data), quantity=_quantity(data), user_id=_user_id(request))
        return Response(_body(change.cart), status=status.HTTP_201_CREATED if change.created_line else 200)


class CartLineApi(APIView):
    @extend_schema(request=QuantityInput, responses=CartSerializer)
    def patch(self, request, token, sku):
        ratelimit.check(request, "cart")
        change = services.cart_set_quantity(token=token, sku=sku, quantity=_quantity(request.data),
                                            user_id=_user_id(request))
        return Response(_body(change.cart))

    @extend_schema(request=None, responses=CartSerializer)
    def delete(self, request, token, sku):
        ratelimit.check(request, "cart")
        return Response(_body(services.cart_remove(token=token, sku=sku, user_id=_user_id(request))))
