from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Shopper accounts"
    # No tables of its own: shoppers are django.contrib.auth users.
