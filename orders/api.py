"""Checkout and orders in the JSON API (docs/api.md)."""

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from payments import services as payment_services
from shipping import services as shipping_services
from store.core import ratelimit
from store.core.api import ApiView, AutoSchema, Error

from . import checkout, services

# The checkout's body and answers, for the OpenAPI schema (orders/checkout.py parses and checks the body itself).
# Text is trimmed and its runs of whitespace (Python's: the \x1c-\x1f separators too) made one space first, so a
# required field needs a character that is not whitespace.
TEXT = r"[^\s\x1c-\x1f]"


def _text(limit: int, **kw) -> serializers.Field:
    return serializers.RegexField(TEXT, max_length=limit, **kw)




_COUNTRY_CODES = [code for code, _ in shipping_services.shipping_countries()]


def _shipping_address() -> serializers.Serializer:
    return inline_serializer("ShippingAddress", {
        "name": _text(200), "line1": _text(200),
        "line2": serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True),
        "city": _text(100), "postal_code": _text(20),
        "country": serializers.ChoiceField(
            choices=_COUNTRY_CODES,
            help_text="ISO 3166 two-letter code, e.g. GB (any case); the postal code must have the country's form "
                      "(400 at shipping_address.postal_code otherwise)"),
        "region": serializers.CharField(max_length=60, required=False, allow_blank=True, allow_null=True,
                                        help_text="state, province… (its code or name, e.g. OR or Oregon): "
                                                  "required where the country has them (US states …); its tax "
                                                  "rate applies where staff set one"),
        "phone": serializers.CharField(max_length=30, required=False, allow_blank=True, allow_null=True),
    })


_PAYMENTS = {  # each way to pay and what it needs (payments.services.payment_details_parse checks it)
    "stripe_checkout": lambda: inline_serializer("StripeCheckoutPayment", {
        "method": serializers.ChoiceField(choices=["stripe_checkout"], help_text="pay on Stripe's hosted page: "
                                                                                 "the answer's next_action"),
    }),
    "stripe": lambda: inline_serializer("StripePayment", {
        "method": serializers.ChoiceField(choices=["stripe"], help_text="a PaymentMethod made by Stripe.js"),
        "payment_method": serializers.RegexField(r"^pm_[A-Za-z0-9_]*$", max_length=255, help_text="pm_…"),
    }),
    "card": lambda: inline_serializer("CardPayment", {
        "method": serializers.ChoiceField(choices=["card"], help_text="the test gateway (test mode only)"),
        "card_number": serializers.RegexField(
            r"^[0-9\s]+$", max_length=40,
            help_text="12 to 19 digits (whitespace ignored) that pass the Luhn check, else 400 invalid_card; "
                      "4242424242424242 succeeds, 4000000000000002 is declined (docs/api.md)"),
    }),
}


@extend_schema_field({
    "anyOf": [{"type": "string", "pattern": r"^(\d{1,10}(\.\d{1,2})?)?$"},
              {"type": "number", "minimum": 0, "maximum": 9999999999.99}],
    "nullable": True,
    "description": "the total the shopper saw, as a decimal string such as \"12.50\" (or a number); if it is not "
                   "the total now: 409 price_changed. Empty or null: not checked",
})
class ExpectedTotal(serializers.Field):
    pass


def checkout_body() -> serializers.Serializer:
    """The checkout's body, with the ways to pay this shop offers now (its settings decide; the schema is made per
    request, so it says what this shop accepts)."""
    offered = payment_services.payment_methods()
    return inline_serializer("CheckoutRequest", {
        "cart_token": _text(100),
        "email": serializers.EmailField(max_length=254),
        "shipping_address": _shipping_address(),
        "payment": PolymorphicProxySerializer(
            component_name="Payment", resource_type_field_name="method",
            serializers={method: _PAYMENTS[method]() for method in offered}) if offered else inline_serializer(
            "Payment", {"method": serializers.CharField(help_text="none: this shop offers no way to pay now (no "
                                                                  "Stripe keys, no test mode), so checkouts are 400")}),
        "expected_total": ExpectedTotal(required=False, allow_null=True),
        "shipping_method": serializers.CharField(
            max_length=40, required=False, allow_blank=True, allow_null=True,
            help_text="a code from GET shipping-methods/; empty: the cheapest that delivers to the address; one that "
                      "does not: 409 shipping_method_unavailable"),
        "promo_code": serializers.CharField(
            max_length=40, required=False, allow_blank=True, allow_null=True,
            help_text="any case; one that cannot be used (unknown, expired, used up, below its minimum): 409 "
                      "promo_code_unavailable, nothing reserved or charged"),
    })


class CheckoutSchema(AutoSchema):
    def get_request_serializer(self):
        return checkout_body() if self.method == "POST" else super().get_request_serializer()


class OrderLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "OrderLine"


def _money(help_text: str = "") -> serializers.Field:
    return serializers.DecimalField(max_digits=12, decimal_places=2, help_text=help_text)


class OrderHistoryEntrySerializer(serializers.Serializer):
    status = serializers.CharField()
    at = serializers.DateTimeField()

    class Meta:
        ref_name = "OrderHistoryEntry"


class OrderSerializer(serializers.Serializer):
    """An order as services.order_body writes it."""

    number = serializers.CharField()
    status = serializers.ChoiceField(choices=services.Status.values)
    subtotal = _money("the lines at their prices")
    discount = _money("the promo code's, off the lines")
    shipping = _money("the shipping method's price")
    tax = _money("on the lines after the discount and on shipping")
    tax_name = serializers.CharField(help_text="the tax as its rate named it when the order was placed (\"VAT\", "
                                               "\"Sales tax\"); \"Tax\" for orders from before it was kept")
    tax_included = serializers.BooleanField(help_text="the prices held the tax: it is shown, not added")
    total = _money("subtotal - discount + shipping (+ tax unless included): what was charged")
    currency = serializers.CharField()
    shipping_method = serializers.CharField(help_text="the method's code (empty: the shop ships free)")
    promo_code = serializers.CharField(help_text="empty: none")
    lines = OrderLineSerializer(many=True)
    history = OrderHistoryEntrySerializer(many=True)

    class Meta:
        ref_name = "Order"


class PlacedOrderSerializer(OrderSerializer):
    # a checkout answers 201 with a paid order, or (its key asked again later) the order as it is now
    status = serializers.ChoiceField(choices=[services.Status.PAID, services.Status.FULFILLED,
                                              services.Status.PARTIALLY_REFUNDED, services.Status.REFUNDED])
    access_token = serializers.CharField(help_text="the order's secret: GET orders/<number>/?token=")
    url = serializers.CharField(help_text="the order's page, with its token")

    class Meta:
        ref_name = "PlacedOrder"


class NextActionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["redirect_to_url", "use_stripe_sdk"])
    url = serializers.CharField(required=False)
    client_secret = serializers.CharField(required=False)

    class Meta:
        ref_name = "NextAction"


class PendingOrderSerializer(PlacedOrderSerializer):
    status = serializers.ChoiceField(
        choices=["processing", "requires_payment", "requires_action"],
        help_text="processing: the gateway has not answered yet; requires_payment: follow next_action's url; "
                  "requires_action: Stripe.js finishes it with next_action's client_secret")
    next_action = NextActionSerializer(required=False)

    class Meta:
        ref_name = "PendingOrder"


PlacedOrder, PendingOrder, Order = PlacedOrderSerializer, PendingOrderSerializer, OrderSerializer
QueuedCheckout = inline_serializer("QueuedCheckout", {
    "status": serializers.ChoiceField(choices=["queued"]),
    "position": serializers.IntegerField(min_value=1, help_text="place in line"),
    "poll_url": serializers.CharField(help_text="GET it until the answer is final"),
})
CHECKOUT_ANSWERS = {
    201: OpenApiResponse(PlacedOrder, description="placed and paid"),
    202: OpenApiResponse(PolymorphicProxySerializer(component_name="CheckoutAccepted", resource_type_field_name=None,
                                                    serializers=[QueuedCheckout, PendingOrder]),
                         description="waiting in the flash-sale line, or placed with its payment not final yet"),
    400: OpenApiResponse(Error, description="invalid_input naming the field (a postal code or region the "
                                            "country does not have too), invalid_card, test_payments_disabled, "
                                            "cart_empty, idempotency_key_required"),
    402: OpenApiResponse(Error, description="payment_declined, with the cancelled order's number"),
    404: OpenApiResponse(Error, description="cart_not_found"),
    409: OpenApiResponse(Error, description="insufficient_stock (sku, available), price_changed, "
                                            "item_unavailable, promo_code_unavailable, "
                                            "shipping_method_unavailable, idempotency_in_progress (Retry-After), "
                                            "payment_in_flight, order_cancelled"),
    422: OpenApiResponse(Error, description="idempotency_key_reused: the key came with another body"),
    503: OpenApiResponse(Error, description="overloaded (the line is full), cart_unavailable; Retry-After"),
}
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": r"^[\x20-\x7e\xa1-\xac\xae-\xff]+$"},
    OpenApiParameter.HEADER, required=True,
    description="1 to 255 printable characters, unique per checkout: the same key and body answer the same again")


def _response(answer) -> Response:
    headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else None
    return Response(answer.body, status=answer.status, headers=headers)


class CheckoutApi(ApiView):
    schema = CheckoutSchema()

    @extend_schema(
        parameters=[IDEMPOTENCY_KEY],
        responses={**CHECKOUT_ANSWERS, 429: OpenApiResponse(Error, description="rate_limited, with Retry-After")},
    )
    def post(self, request):
        ratelimit.check(request, "checkout")
        return _response(checkout.checkout_submit(
            key=request.headers.get("Idempotency-Key"), body=request.data,
            user_id=request.user.pk if request.user.is_authenticated else None))


class CheckoutQueueApi(ApiView):
    @extend_schema(responses={**CHECKOUT_ANSWERS,
                              404: OpenApiResponse(Error, description="ticket_not_found: no such ticket; "
                                                                      "checkout_expired: it waited too long")},
                   description="A queued checkout: 202 with its place in line, then the checkout's own answer.")
    def get(self, request, ticket):
        return _response(checkout.checkout_poll(ticket=ticket))


class OrderDetailApi(ApiView):
    @extend_schema(parameters=[OpenApiParameter("token", str, description="the order's secret access token")],
                   responses={200: Order, 404: OpenApiResponse(Error, description="order_not_found: no such order, "
                                                                                   "or not yours")})
    def get(self, request, number):
        order = services.order_get(number=number, token=request.query_params.get("token", ""),
                                   user_id=request.user.pk if request.user.is_authenticated else None,
                                   is_staff=request.user.has_perm("orders.view_order"))
        return Response(services.order_body(order))


class OrderListApi(ApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OrderSerializer(many=True),
                              403: OpenApiResponse(Error, description="permission_denied: not signed in")})
    def get(self, request):
        return Response([services.order_body(order) for order in services.order_history(user_id=request.user.pk)])


ShippingMethods = inline_serializer("ShippingMethod", many=True, fields={
    "code": serializers.CharField(help_text="what the checkout's shipping_method names"),
    "name": serializers.CharField(),
    "price": _money("for this cart to this country"),
    "currency": serializers.CharField(),
    "estimate": serializers.CharField(help_text="e.g. 3–5 business days"),
})  # as a list


class ShippingMethodsApi(ApiView):
    @extend_schema(
        parameters=[OpenApiParameter("country", {"type": "string", "enum": _COUNTRY_CODES}, required=True,
                                     description="ISO 3166 two-letter code (any case)"),
                    OpenApiParameter("cart_token", {"type": "string", "maxLength": 100},
                                     description="price them for this cart (else for an empty one)")],
        responses={200: ShippingMethods,
                   400: OpenApiResponse(Error, description="invalid_input: country"),
                   404: OpenApiResponse(Error, description="cart_not_found")},
        description="The shipping methods that deliver to a country, cheapest first, priced for a cart.")
    def get(self, request):
        quotes, currency = checkout.checkout_shipping_options(
            country=request.query_params.get("country", ""), cart_token=request.query_params.get("cart_token", ""),
            user_id=request.user.pk if request.user.is_authenticated else None)
        return Response([{"code": q.code, "name": q.name, "price": f"{q.price:.2f}", "currency": currency,
                          "estimate": q.estimate} for q in quotes])
