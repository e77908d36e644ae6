from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Shopper accounts"
    db_schema = "accounts"  # shoppers are django.contrib.auth users; here only what they confirmed (AccountProfile)

    def ready(self):
        from store.core import outbox

        from . import services

        outbox.subscribe(services.RESET_ASKED, services.account_send_password_reset)


class StoreAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the shop's own default site (accounts/admin_site.py); named in INSTALLED_APPS."""

    default = False  # (this module's default app is AccountsConfig)
    default_site = "accounts.admin_site.StoreAdminSite"
