from django.apps import AppConfig


class CartConfig(AppConfig):
    name = "cart"
    verbose_name = "Cart"
    # Carts live in Redis only: this app has no tables and no schema.
