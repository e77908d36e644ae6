"""The shipped staff roles (orders/migrations/0007_staff_roles.py) see the shop's shipping methods, their bands, tax
rates and promo codes (a shopper asks what a code or a delivery costs); changing them is the shop owner's, as
editing the catalogue is."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["shipping.view_shippingmethod", "shipping.view_shippingband", "shipping.view_taxrate",
        "orders.view_promocode"]
ROLES = ["Support", "Fulfilment", "Manager"]


def grant_selling_permissions(apps, schema_editor):
    for label in ("shipping", "orders"):
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ROLES:
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in VIEW:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke_selling_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    wanted = [Permission.objects.get(content_type__app_label=d.split(".")[0], codename=d.split(".")[1]) for d in VIEW]
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*wanted)


class Migration(migrations.Migration):

    dependencies = [
        ("shipping", "0003_address_book"),
        ("orders", "0008_selling"),
        ("orders", "0007_staff_roles"),
    ]

    operations = [migrations.RunPython(grant_selling_permissions, revoke_selling_permissions)]
