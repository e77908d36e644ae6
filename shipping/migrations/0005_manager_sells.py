"""The Manager, who already decides what is on sale (flash sales, products shown), also sets how the shop sells:
adds, changes and deletes shipping methods, their bands, tax rates and promo codes (issue 22: staff create codes
and set methods, rates and taxes). Support and Fulfilment keep seeing them only (0004_staff_roles)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

MANAGER = [f"{app_label}.{action}_{model}"
           for app_label, model in (("shipping", "shippingmethod"), ("shipping", "shippingband"),
                                    ("shipping", "taxrate"), ("orders", "promocode"))
           for action in ("add", "change", "delete", "view")]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return [Permission.objects.get(content_type__app_label=dotted.split(".")[0], codename=dotted.split(".")[1])
            for dotted in MANAGER]


def grant_selling_to_managers(apps, schema_editor):
    for label in ("shipping", "orders"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    group, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Manager")
    group.permissions.add(*_permissions(apps))


def revoke_selling_from_managers(apps, schema_editor):
    viewing = {"shipping.view_shippingmethod", "shipping.view_shippingband", "shipping.view_taxrate",
               "orders.view_promocode"}  # (0004's, for every role)
    kept = [p for p, dotted in zip(_permissions(apps), MANAGER, strict=True) if dotted not in viewing]
    for group in apps.get_model("auth", "Group").objects.filter(name="Manager"):
        group.permissions.remove(*kept)


class Migration(migrations.Migration):

    dependencies = [
        ("shipping", "0004_staff_roles"),
    ]

    operations = [migrations.RunPython(grant_selling_to_managers, revoke_selling_from_managers)]
