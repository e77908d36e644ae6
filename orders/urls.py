from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("checkout/", views.checkout, name="checkout"),
    path("checkout/line/<str:ticket>/", views.in_line, name="in-line"),
    path("checkout/return/", views.checkout_return, name="checkout-return"),
    path("checkout/cancel/", views.checkout_cancel, name="checkout-cancel"),
    path("orders/<str:number>/", views.order_page, name="order"),
    path("account/orders/", views.history, name="history"),
]
