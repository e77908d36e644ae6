from django.urls import path

from . import views

app_name = "catalog"

urlpatterns = [
    path("p/<slug:slug>/", views.product, name="product"),  # the most requested first
    path("c/<slug:slug>/", views.category, name="category"),
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
]
