from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("p/<str:slug>/reviews/", views.product_reviews, name="product"),
    path("reviews/<str:review_id>/<str:action>/", views.review_action, name="action"),
]
