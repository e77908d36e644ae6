"""The staff admin's site: Django's AdminSite, named for the shop, whose log-in form gets the shop's sign-in limits
(it signs in the same accounts). Installed as the default site by accounts.apps.StoreAdminConfig, Django's
documented way to replace ``admin.site``.

Every model's changelist is also guarded against two inputs Django's admin turns into a 500: a bulk action whose
selection is not a row's id (Django filters ``pk__in`` with it as it is), and a year lookup outside the calendar
(``?created_at__year=99999``: Django builds its dates only when the list is read). The first is "no items
selected", the second the changelist's own answer to a bad lookup (``?e=1``)."""

import datetime
import functools

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from .views import limit_log_in


def _ids_valid(model, selected: list[str]) -> bool:
    try:
        for value in selected:
            model._meta.pk.to_python(value)
    except ValidationError:
        return False
    return True


def _years_valid(query) -> bool:
    """No year lookup (``__year``, ``__iso_year``, with any comparison) names a year Django cannot make dates of;
    a value that is not a number at all Django refuses itself."""
    for key, values in query.lists():
        if not {"year", "iso_year"} & set(key.split("__")):
            continue
        for raw in ",".join(values).split(","):
            try:
                year = int(raw)
            except ValueError:
                continue
            if not datetime.MINYEAR < year < datetime.MAXYEAR:  # (one year's margin for the time zone)
                return False
    return True


def _checked_changelist(view, model):
    @functools.wraps(view)
    def changelist(request, *args, **kwargs):
        if not _years_valid(request.GET):
            return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
        if request.method == "POST" and "action" in request.POST \
                and not _ids_valid(model, request.POST.getlist(ACTION_CHECKBOX_NAME)):
            messages.warning(request, "Items must be selected in order to perform actions on them. No items have "
                                      "been changed.")
            return HttpResponseRedirect(request.get_full_path())
        return view(request, *args, **kwargs)

    return changelist


class StoreAdminSite(admin.AdminSite):
    site_header = f"{settings.STORE_NAME} — staff"
    site_title = settings.STORE_NAME
    # The page's width goes to the lists and forms (the index and breadcrumbs already lead everywhere): a stock
    # ledger's nine columns fit 1280 px without the menu beside them.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        """The shop's own apps: the plumbing others install (Celery beat's schedules) is left out of the menus;
        whoever has its permissions still reaches it by its address (ADMIN_HIDDEN_APPS)."""
        hidden = set(getattr(settings, "ADMIN_HIDDEN_APPS", ("django_celery_beat",)))
        return [app for app in super().get_app_list(request, app_label)
                if app["app_label"] not in hidden or app_label == app["app_label"]]

    def login(self, request, extra_context=None):
        return limit_log_in(super().login)(request, extra_context)

    def admin_view(self, view, cacheable=False):
        model_admin = getattr(view, "__self__", None)
        if isinstance(model_admin, admin.ModelAdmin) and view.__name__ == "changelist_view":
            view = _checked_changelist(view, model_admin.model)  # (inside: the staff check comes first)
        return super().admin_view(view, cacheable)
