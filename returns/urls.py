from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("orders/<str:number>/return/", views.request_return, name="request"),
    path("returns/<str:number>/cancel/", views.cancel_return, name="cancel"),
]
