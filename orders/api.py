"""Checkout and orders in the JSON API (API.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from store.core import ratelimit

from . import checkout, services

# The checkout's body and answers, for the OpenAPI schema (orders/checkout.py parses and checks the body itself).
CheckoutBody = inline_serializer("CheckoutRequest", {
    "cart_token": serializers.CharField(max_length=100),
    "email": serializers.EmailField(max_length=254),
    "shipping_address": inline_serializer("ShippingAddress", {
        "name": serializers.CharField(max_length=200), "line1": serializers.CharField(max_length=200),
        "line2": serializers.CharField(max_length=200, required=False, allow_blank=True),
        "city": serializers.CharField(max_length=100), "postal_code": serializers.CharField(max_length=20),
        "country": serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166 two-letter code, e.g. GB"),
    }),
    "payment": inline_serializer("Payment", {
        "method": serializers.ChoiceField(
            choices=["stripe_checkout", "stripe", "card"],
            help_text="stripe_checkout: pay on Stripe's hosted page (the answer's next_action); stripe: a Stripe.js "
                      "PaymentMethod; card: the test gateway, only in test mode (else 400 test_payments_disabled)"),
        "card_number": serializers.CharField(required=False, max_length=40, help_text="method card only"),
        "payment_method": serializers.CharField(required=False, max_length=255, help_text="method stripe: pm_…"),
    }),
    "expected_total": serializers.DecimalField(max_digits=12, decimal_places=2, required=False, min_value=0,
                                               help_text="the total the shopper saw; 409 price_changed otherwise"),
})
Error = inline_serializer("Error", {"code": serializers.CharField(), "message": serializers.CharField(),
                                    "field": serializers.CharField(required=False)})


def _response(answer) -> Response:
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else None
    return Response(answer.body, status=answer.status, headers=headers)


class CheckoutApi(APIView):
    @extend_schema(
        request=CheckoutBody,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        responses={201: dict, 202: dict, 400: Error, 402: Error, 404: Error, 409: Error, 422: Error, 429: Error,
                   503: Error},
    )
    def post(self, request):
        ratelimit.check(request, "checkout")
        return _response(checkout.checkout_submit(
            key=request.headers.get("Idempotency-Key"), body=request.data,
            user_id=request.user.pk if request.user.is_authenticated else None))


class CheckoutQueueApi(APIView):
    @extend_schema(responses={200: dict, 201: dict, 202: dict, 402: dict, 409: dict})
    def get(self, request, ticket):
        return _response(checkout.checkout_poll(ticket=ticket))


_ORDER_FIELDS = {
    "number": serializers.CharField(),
    "status": serializers.ChoiceField(choices=services.Status.values),
    "total": serializers.DecimalField(max_digits=12, decimal_places=2),
    "currency": serializers.CharField(),
    "lines": inline_serializer("OrderLine", {
        "sku": serializers.CharField(), "name": serializers.CharField(), "quantity": serializers.IntegerField(),
        "unit_price": serializers.DecimalField(max_digits=12, decimal_places=2),
        "line_total": serializers.DecimalField(max_digits=12, decimal_places=2),
    }, many=True),
    "history": inline_serializer("OrderHistoryEntry", {"status": serializers.CharField(),
                                                       "at": serializers.DateTimeField()}, many=True),
}


class OrderDetailApi(APIView):
    @extend_schema(parameters=[OpenApiParameter("token", str, description="the order's secret access token")],
                   responses=inline_serializer("Order", _ORDER_FIELDS))
    def get(self, request, number):
        order = services.order_get(number=number, token=request.query_params.get("token", ""),
                                   user_id=request.user.pk if request.user.is_authenticated else None,
                                   is_staff=request.user.has_perm("orders.view_order"))
        return Response(services.order_body(order))


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Order", _ORDER_FIELDS, many=True))
    def get(self, request):
        return Response([services.order_body(order) for order in services.order_history(user_id=request.user.pk)])
