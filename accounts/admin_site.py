"""The staff admin's site: Django's AdminSite, named for the shop, whose log-in form gets the shop's sign-in limits
(it signs in the same accounts). Installed as the default site by accounts.apps.StoreAdminConfig, Django's
documented way to replace ``admin.site``."""

from django.conf import settings
from django.contrib import admin

from .views import limit_log_in


class StoreAdminSite(admin.AdminSite):
    site_header = f"{settings.STORE_NAME} — staff"
    site_title = settings.STORE_NAME

    def login(self, request, extra_context=None):
        return limit_log_in(super().login)(request, extra_context)
