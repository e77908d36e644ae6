"""Reviews in the JSON API (docs/api.md): a product's rating and reviews, writing, editing, deleting and voting."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from store.core import ratelimit
from store.core.api import ApiView, Error

from . import services
from .models import MAX_BODY, MAX_TITLE
from .types import SORTS, RatingSummary, ReviewView

ReviewBody = inline_serializer("ReviewBody", {
    "rating": serializers.IntegerField(min_value=1, max_value=5),
    # some text besides spaces (what str.strip() strips), within the limit: services.review_parse checks it
    "title": serializers.RegexField(r"[^\s\x1c-\x1f\x85]", max_length=MAX_TITLE),
    "body": serializers.RegexField(r"[^\s\x1c-\x1f\x85]", max_length=MAX_BODY),
})
REVIEW_FIELDS = {
    "id": serializers.IntegerField(), "rating": serializers.IntegerField(), "title": serializers.CharField(),
    "body": serializers.CharField(), "author": serializers.CharField(),
    "verified_purchase": serializers.BooleanField(), "variant": serializers.CharField(),
    "status": serializers.ChoiceField(choices=["published", "pending", "hidden"]),
    "helpful": serializers.IntegerField(), "unhelpful": serializers.IntegerField(),
    "created_at": serializers.DateTimeField(), "updated_at": serializers.DateTimeField(),
}
ReviewAnswer = inline_serializer("Review", REVIEW_FIELDS)
LIMITED = OpenApiResponse(Error, description="rate_limited: too many review writes, votes or flags (Retry-After)")
ReviewsAnswer = inline_serializer("ProductReviews", {
    "count": serializers.IntegerField(), "average": serializers.CharField(allow_null=True),
    "distribution": serializers.DictField(child=serializers.IntegerField()),
    "sort": serializers.ChoiceField(choices=SORTS), "page": serializers.IntegerField(),
    "num_pages": serializers.IntegerField(), "results": inline_serializer("ReviewOfProduct", REVIEW_FIELDS, many=True),
})


def _user_id(request):
    return request.user.pk if request.user.is_authenticated else None


def _author(request) -> str:
    user = request.user
    return (user.get_short_name() or user.get_username().split("@")[0])[:60]


def review_body(review: ReviewView) -> dict:
    return {"id": review.id, "rating": review.rating, "title": review.title, "body": review.body,
            "author": review.author_name, "verified_purchase": True, "variant": review.variant_name,
            "status": review.status, "helpful": review.helpful_count, "unhelpful": review.unhelpful_count,
            "created_at": review.created_at, "updated_at": review.updated_at}


def summary_body(summary: RatingSummary) -> dict:
    average = summary.average
    return {"count": summary.count, "average": f"{average:.2f}" if average is not None else None,
            "distribution": {str(n): summary.distribution[n] for n in range(1, 6)}}


class ProductReviewsApi(ApiView):
    @extend_schema(operation_id="product_reviews_list", parameters=[
        OpenApiParameter("sort", str, enum=list(SORTS)),
        OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": 10_000},
                         description="from 1 (else 400 invalid_sort); past the last page: no results")],
        responses={200: ReviewsAnswer,
                   400: OpenApiResponse(Error, description="invalid_sort: an unknown sort or a bad page"),
                   404: OpenApiResponse(Error, description="product_not_found")})
    def get(self, request, slug):
        listing = services.review_list(product_slug=slug, sort=request.query_params.get("sort"),
                                       page=request.query_params.get("page") or 1)
        return Response({**summary_body(listing["summary"]), "sort": listing["sort"], "page": listing["page"],
                         "num_pages": listing["num_pages"],
                         "results": [review_body(r) for r in listing["reviews"]]})

    @extend_schema(operation_id="product_review_create", request=ReviewBody,
                   responses={201: ReviewAnswer,
                              400: OpenApiResponse(Error, description="invalid_review: `field` names it"),
                              403: OpenApiResponse(Error, description="not_signed_in, or not_verified: no paid "
                                                                      "order of this product"),
                              404: OpenApiResponse(Error, description="product_not_found"),
                              409: OpenApiResponse(Error, description="already_reviewed"), 429: LIMITED})
    def post(self, request, slug):
        ratelimit.check(request, "reviews")  # writes, votes and flags: per client and account
        parsed = services.review_parse(request.data)
        review = services.review_create(product_slug=slug, user_id=_user_id(request), author_name=_author(request)
                                        if request.user.is_authenticated else "", review=parsed)
        return Response(review_body(review), status=201)


class ReviewDetailApi(ApiView):
    @extend_schema(operation_id="review_update", request=ReviewBody,
                   responses={200: ReviewAnswer,
                              400: OpenApiResponse(Error, description="invalid_review: `field` names it"),
                              403: OpenApiResponse(Error, description="not_signed_in or not_your_review"),
                              404: OpenApiResponse(Error, description="review_not_found"), 429: LIMITED})
    def put(self, request, review_id):
        ratelimit.check(request, "reviews")
        parsed = services.review_parse(request.data)
        review = services.review_update(review_id=review_id, user_id=_user_id(request), review=parsed)
        return Response(review_body(review))

    @extend_schema(operation_id="review_delete",
                   responses={204: None,
                              403: OpenApiResponse(Error, description="not_signed_in or not_your_review"),
                              404: OpenApiResponse(Error, description="review_not_found"), 429: LIMITED})
    def delete(self, request, review_id):
        ratelimit.check(request, "reviews")
        services.review_delete(review_id=review_id, user_id=_user_id(request))
        return Response(status=204)


class ReviewVoteApi(ApiView):
    @extend_schema(operation_id="review_vote",
                   request=inline_serializer("ReviewVoteBody", {"helpful": serializers.BooleanField()}),
                   responses={200: ReviewAnswer,
                              400: OpenApiResponse(Error, description="invalid_review: helpful is not a boolean"),
                              403: OpenApiResponse(Error, description="not_signed_in, or own_review: the "
                                                                      "author's own review"),
                              404: OpenApiResponse(Error, description="review_not_found (or not published)"),
                              429: LIMITED})
    def post(self, request, review_id):
        ratelimit.check(request, "reviews")
        helpful = request.data.get("helpful") if isinstance(request.data, dict) else None
        review = services.review_vote(review_id=review_id, user_id=_user_id(request), helpful=helpful)
        return Response(review_body(review))


class ReviewFlagApi(ApiView):
    @extend_schema(operation_id="review_flag",
                   request=inline_serializer("ReviewFlagBody", {"reason": serializers.CharField(
                       max_length=200, required=False, allow_blank=True)}),
                   responses={200: ReviewAnswer, 403: OpenApiResponse(Error, description="not_signed_in"),
                              404: OpenApiResponse(Error, description="review_not_found (or not published)"),
                              429: LIMITED})
    def post(self, request, review_id):
        ratelimit.check(request, "reviews")
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        review = services.review_flag(review_id=review_id, user_id=_user_id(request),
                                      reason=reason if isinstance(reason, str) else "")
        return Response(review_body(review))
