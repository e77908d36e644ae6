from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Shopper accounts"
    # No tables of its own: shoppers are django.contrib.auth users.

    def ready(self):
        # The admin's log-in form signs in the same accounts as the shop's, so it gets the same limits. AdminSite
        # routes /admin/login/ to its ``login`` attribute when its URLs are first built, after ready().
        from django.contrib import admin

        from .views import limit_log_in

        if not getattr(admin.site.login, "rate_limited", False):
            admin.site.login = limit_log_in(admin.site.login)
            admin.site.login.rate_limited = True
