"""Returns in the JSON API (docs/api.md): a shopper asks to return units of an order, and follows the return."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from store.core.api import ApiView, Error

from . import services
from .types import REASONS

TOKEN = OpenApiParameter("token", str, description="the order's secret access token (for a guest's order)")
# Documents the body; services.return_parse checks it (its errors name the field: lines[0].quantity, reason, note).
ReturnLineBody = inline_serializer("ReturnRequestLine", {
    "sku": serializers.RegexField(r"[^\s\x1c-\x1f\x85]", max_length=64, help_text="a SKU of the order"),
    "quantity": serializers.IntegerField(min_value=1, max_value=services.MAX_UNITS,
                                         help_text="at most what was bought minus what is returned or asked for "
                                                   "already (else 409 return_refused)"),
})
ReturnBody = inline_serializer("ReturnRequestBody", {
    "lines": serializers.ListField(child=ReturnLineBody, min_length=1, max_length=services.MAX_LINES),
    "reason": serializers.ChoiceField(choices=REASONS),
    "note": serializers.CharField(max_length=services.MAX_NOTE, required=False, allow_blank=True),
})
ReturnAnswer = inline_serializer("Return", {
    "number": serializers.CharField(help_text="R-…"),
    "order": serializers.CharField(help_text="the order's number"),
    "status": serializers.ChoiceField(choices=["requested", "approved", "received", "refunded", "rejected",
                                               "cancelled"]),
    "reason": serializers.ChoiceField(choices=REASONS),
    "note": serializers.CharField(),
    "currency": serializers.CharField(),
    "lines": inline_serializer("ReturnLine", {
        "sku": serializers.CharField(), "name": serializers.CharField(),
        "quantity": serializers.IntegerField(help_text="units asked to return"),
        "received": serializers.IntegerField(), "restocked": serializers.IntegerField(),
        "unit_price": serializers.DecimalField(max_digits=12, decimal_places=2),
    }, many=True),
    "refund_amount": serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True,
                                              help_text="null until refunded"),
    "rejection_reason": serializers.CharField(),
    "history": inline_serializer("ReturnHistoryEntry", {"status": serializers.CharField(),
                                                        "at": serializers.DateTimeField()}, many=True),
})


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


class OrderReturnsApi(ApiView):
    @extend_schema(
        operation_id="order_return_create", request=ReturnBody, parameters=[TOKEN],
        responses={201: ReturnAnswer,
                   400: OpenApiResponse(Error, description="invalid_return: bad input; `field` names it"),
                   404: OpenApiResponse(Error, description="order_not_found: no such order, or not yours"),
                   409: OpenApiResponse(Error, description="return_refused: outside the window, not paid, "
                                                           "cancelled, or more units than are left")},
    )
    def post(self, request, number):
        parsed = services.return_parse(request.data)
        ret = services.return_request(order_number=number, request=parsed, user_id=_user_id(request),
                                      token=request.query_params.get("token", ""))
        return Response(services.return_body(ret), status=201)


class ReturnDetailApi(ApiView):
    @extend_schema(operation_id="return_retrieve", parameters=[TOKEN],
                   responses={200: ReturnAnswer,
                              404: OpenApiResponse(Error, description="return_not_found: no such return, or not "
                                                                      "yours")})
    def get(self, request, number):
        ret = services.return_get(number=number, user_id=_user_id(request),
                                  token=request.query_params.get("token", ""),
                                  is_staff=request.user.has_perm("returns.view_return"))
        return Response(services.return_body(ret))
