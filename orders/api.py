"""Checkout and orders in the JSON API (API.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from store.core import ratelimit

from . import checkout, services

CheckoutBody = inline_serializer("CheckoutRequest", {
    "cart_token": serializers.CharField(),
    "email": serializers.EmailField(),
    "shipping_address": serializers.DictField(),
    "payment": serializers.DictField(),
    "expected_total": serializers.DecimalField(max_digits=12, decimal_places=2, required=False),
})


def _response(answer) -> Response:
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else None
    return Response(answer.body, status=answer.status, headers=headers)


class CheckoutApi(APIView):
    @extend_schema(
        request=CheckoutBody,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)],
        responses={201: dict, 202: dict, 402: dict, 409: dict, 422: dict},
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
                                   is_staff=request.user.is_staff)
        return Response(services.order_body(order))


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=inline_serializer("Order", _ORDER_FIELDS, many=True))
    def get(self, request):
        return Response([services.order_body(order) for order in services.order_history(user_id=request.user.pk)])
