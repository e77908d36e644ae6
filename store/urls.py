"""The project's URLs: storefront pages, the JSON API under /api/v1/, admin, health check and media."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cart import api as cart_api
from catalog import api as catalog_api
from orders import api as orders_api
from payments import views as payment_views
from recommendations import api as recommendations_api
from returns import api as returns_api
from reviews import api as reviews_api
from store.core import views as core_views

api_v1 = [  # the hottest first (Django tries them in order): cart writes, then the catalogue
    path("carts/<str:token>/lines/", cart_api.CartLinesApi.as_view(), name="cart-lines"),
    path("carts/<str:token>/lines/<str:sku>/", cart_api.CartLineApi.as_view(), name="cart-line"),
    path("carts/<str:token>/", cart_api.CartDetailApi.as_view(), name="cart-detail"),
    path("carts/", cart_api.CartCreateApi.as_view(), name="cart-create"),
    path("products/", catalog_api.ProductListApi.as_view(), name="product-list"),
    path("products/<str:slug>/", catalog_api.ProductDetailApi.as_view(), name="product-detail"),
    path("categories/", catalog_api.CategoryListApi.as_view(), name="category-list"),
    path("suggest/", catalog_api.SuggestApi.as_view(), name="suggest"),
    path("checkout/", orders_api.CheckoutApi.as_view(), name="checkout"),
    path("checkout/queue/<str:ticket>/", orders_api.CheckoutQueueApi.as_view(), name="checkout-queue"),
    path("shipping-methods/", orders_api.ShippingMethodsApi.as_view(), name="shipping-methods"),
    path("orders/", orders_api.OrderListApi.as_view(), name="order-list"),
    path("orders/<str:number>/", orders_api.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<str:number>/returns/", returns_api.OrderReturnsApi.as_view(), name="order-returns"),
    path("returns/<str:number>/", returns_api.ReturnDetailApi.as_view(), name="return-detail"),
    path("products/<str:slug>/reviews/", reviews_api.ProductReviewsApi.as_view(), name="product-reviews"),
    path("reviews/<str:review_id>/", reviews_api.ReviewDetailApi.as_view(), name="review-detail"),
    path("reviews/<str:review_id>/vote/", reviews_api.ReviewVoteApi.as_view(), name="review-vote"),
    path("reviews/<str:review_id>/flag/", reviews_api.ReviewFlagApi.as_view(), name="review-flag"),
    path("products/<str:slug>/recommendations/", recommendations_api.ProductRecommendationsApi.as_view(),
         name="product-recommendations"),
    path("carts/<str:token>/recommendations/", recommendations_api.CartRecommendationsApi.as_view(),
         name="cart-recommendations"),
]

urlpatterns = [
    # the most requested first, since Django tries the patterns in order: the API (one failed match for a page),
    # then the storefront's pages
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("", include("catalog.urls")),
    path("healthz", core_views.healthz, name="healthz"),
    path("csrf/", core_views.csrf_token, name="csrf-token"),
    path("admin/", admin.site.urls),
    path("payments/stripe/webhook/", payment_views.stripe_webhook, name="stripe-webhook"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("cart/", include("cart.urls")),
    path("", include("orders.urls")),
    path("", include("returns.urls")),
    path("", include("reviews.urls")),
    path("account/addresses/", include("shipping.urls")),
    path("account/", include("accounts.urls")),
]

if settings.SERVE_MEDIA:
    # No CDN by default: the app serves uploaded product images itself, with a long browser cache.
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]

handler404 = core_views.page_not_found
handler500 = core_views.server_error
