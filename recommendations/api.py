"""Recommendations in the JSON API (docs/api.md): a product's, by kind, and a cart's; product cards with a reason."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from cart import services as cart_services
from store.core.api import ApiView, Error

from . import services
from .types import KINDS, MAX_LIMIT, Recommended

CARD_FIELDS = {
    "slug": serializers.CharField(), "name": serializers.CharField(), "price": serializers.CharField(),
    "currency": serializers.CharField(), "in_stock": serializers.BooleanField(),
    "image_url": serializers.CharField(allow_null=True), "url": serializers.CharField(),
    "category": serializers.CharField(), "reason": serializers.CharField(),
}
CARD = ("slug", "name", "price", "currency", "in_stock", "image_url", "url", "category")
RecommendationsAnswer = inline_serializer("Recommendations", {
    "results": inline_serializer("RecommendedProduct", CARD_FIELDS, many=True)})  # (takes CARD_FIELDS over)


def _body(recommended: list[Recommended]) -> dict:
    return {"results": [{**{name: r.card.get(name) for name in CARD}, "reason": r.reason} for r in recommended]}


class ProductRecommendationsApi(ApiView):
    @extend_schema(operation_id="product_recommendations", parameters=[
        OpenApiParameter("kind", str, enum=list(KINDS), description="bought_together (the default) or similar"),
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, description="default 10")],
        responses={200: RecommendationsAnswer,
                   400: OpenApiResponse(Error, description="invalid_recommendation_query: an unknown kind, or a "
                                                           "limit not a whole number from 1 to 50 (`field` names it)"),
                   404: OpenApiResponse(Error, description="product_not_found")})
    def get(self, request, slug):
        kind, limit = services.recommendations_parse(request.query_params)
        return Response(_body(services.product_recommendations(slug=slug, kind=kind, limit=limit)))


class CartRecommendationsApi(ApiView):
    @extend_schema(operation_id="cart_recommendations", parameters=[
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, description="default 10")],
        responses={200: RecommendationsAnswer,
                   400: OpenApiResponse(Error, description="invalid_recommendation_query: a bad limit"),
                   404: OpenApiResponse(Error, description="cart_not_found")})
    def get(self, request, token):
        _, limit = services.recommendations_parse({"limit": request.query_params.get("limit")})
        cart = cart_services.cart_get(token=token, user_id=request.user.pk if request.user.is_authenticated else None)
        names = {line.product_slug: line.name.split(" — ")[0] for line in cart.lines if line.product_slug}
        return Response(_body(services.cart_recommendations(product_slugs=list(names), names=names, limit=limit)))
