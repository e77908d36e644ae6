from django.urls import path

from . import views

app_name = "shipping"
urlpatterns = [
    path("", views.addresses, name="addresses"),
    path("<int:address_id>/", views.addresses, name="address_edit"),
    path("<int:address_id>/delete/", views.address_delete, name="address_delete"),
]
