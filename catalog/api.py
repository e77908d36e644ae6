"""The catalogue's JSON API (docs/api.md): product list with facets, product detail, categories."""

from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from store.core.api import ApiView, Error

from . import selectors, services


class ProductCardSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    image_url = serializers.CharField(allow_null=True)
    url = serializers.CharField()
    rating = inline_serializer("Rating", {
        "average": serializers.DecimalField(max_digits=3, decimal_places=2, allow_null=True,
                                            help_text="null while the product has no published review"),
        "count": serializers.IntegerField(min_value=0, help_text="published reviews"),
    })


class VariantSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    attributes = serializers.DictField(child=serializers.CharField())
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField()
    available = serializers.IntegerField(help_text="Units a shopper could buy now.")


class ProductDetailSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField(source="category.slug")
    images = serializers.ListField(child=serializers.CharField())
    variants = VariantSerializer(many=True)
    rating = ProductCardSerializer().fields["rating"].__class__()


class CategorySerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    parent = serializers.CharField(allow_null=True)
    product_count = serializers.IntegerField()


CARD_FIELDS = list(ProductCardSerializer().fields)
VARIANT_FIELDS = list(VariantSerializer().fields)


def _card(request, card: dict) -> dict:
    out = {field: card[field] for field in CARD_FIELDS}
    if out["image_url"]:
        out["image_url"] = request.build_absolute_uri(out["image_url"])
    return out


def _price_parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, {"type": "number", "minimum": 0, "maximum": 1_000_000_000},
                            description="A price in the shop's currency, 0 to 1000000000 (else 400 invalid_input)")


LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="Words to search for (the first 200 characters count)"),
    OpenApiParameter("category", str, description="Category slug (its subcategories included); an unknown one is "
                                                  "404 unknown_category"),
    _price_parameter("min_price"),
    _price_parameter("max_price"),
    OpenApiParameter("in_stock", bool, description="true: only products a shopper can buy now"),
    OpenApiParameter("exact", bool, description="true: the words as typed, never corrected for typos"),
    OpenApiParameter("min_rating", {"type": "number", "minimum": 1, "maximum": 5},
                     description="only products whose average rating is at least this (4: four stars & up)"),
    OpenApiParameter("sort", str, enum=list(selectors.SORTS), description="relevance when absent"),
    OpenApiParameter("page", {"type": "integer", "minimum": 1},
                     description="from 1; past the last page is 404 invalid_page"),
]


class ProductListApi(ApiView):
    @extend_schema(
        operation_id="v1_products_list",
        parameters=LIST_PARAMETERS,
        responses={
            200: inline_serializer("ProductPage", {
                "count": serializers.IntegerField(min_value=0),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
                "results": ProductCardSerializer(many=True),
                "facets": serializers.DictField(),
            }),
            400: OpenApiResponse(Error, description="invalid_input: a filter's value (the error names the param)"),
            404: OpenApiResponse(Error, description="unknown_category, or invalid_page"),
        },
    )
    def get(self, request):
        filters = services.product_filters_parse(request.query_params)
        page = request.query_params.get("page") or 1
        listing = selectors.product_list(filters=filters, page=page)

        def link(number):
            params = request.query_params.copy()
            params["page"] = number
            return request.build_absolute_uri(f"{request.path}?{urlencode(params)}")

        return Response({
            "count": listing["count"],
            "next": link(listing["page"] + 1) if listing["has_next"] else None,
            "previous": link(listing["page"] - 1) if listing["has_previous"] else None,
            # the cached cards are already JSON-ready; the serializers describe them for the OpenAPI schema
            "results": [_card(request, card) for card in listing["results"]],
            "facets": listing["facets"],
        })


class ProductDetailApi(ApiView):
    @extend_schema(responses={200: ProductDetailSerializer,
                              404: OpenApiResponse(Error, description="product_not_found")})
    def get(self, request, slug):
        detail = selectors.product_detail(slug=slug)
        return Response({
            "slug": detail["slug"],
            "name": detail["name"],
            "description": detail["description"],
            "category": detail["category"]["slug"],
            "images": [request.build_absolute_uri(i["url"]) for i in detail["images"]],
            "variants": [{field: v[field] for field in VARIANT_FIELDS} for v in detail["variants"]],
            "rating": detail["rating"],
        })


class CategoryListApi(ApiView):
    @extend_schema(responses={200: CategorySerializer(many=True)})
    def get(self, request):
        return Response(CategorySerializer(selectors.category_counts(), many=True).data)


class SuggestApi(ApiView):
    """Search-as-you-type: product names for a prefix (the search box asks this; without JS it is a plain form)."""

    @extend_schema(parameters=[OpenApiParameter("q", str, description="what the shopper has typed so far (the "
                                                                      "first 100 characters count)")],
                   responses={200: inline_serializer("Suggestions", {"suggestions": inline_serializer(
                       "Suggestion", {"name": serializers.CharField(), "url": serializers.CharField()},
                       many=True)})})
    def get(self, request):
        return Response({"suggestions": selectors.product_suggestions(prefix=request.query_params.get("q", "")[:100])})
