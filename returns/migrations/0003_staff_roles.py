"""The shipped staff roles (orders/migrations/0007_staff_roles.py) and returns: Support looks at them, Fulfilment also
receives the parcels (stock moves), Manager also approves or rejects them and refunds them (money moves)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = ["returns.view_return", "returns.view_returnline", "returns.view_returnevent"]
FULFILMENT = [*SUPPORT, "returns.receive_return"]
MANAGER = [*FULFILMENT, "returns.approve_return", "returns.refund_return"]
ROLES = {"Support": SUPPORT, "Fulfilment": FULFILMENT, "Manager": MANAGER}


def grant_return_permissions(apps, schema_editor):
    create_permissions(global_apps.get_app_config("returns"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke_return_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="returns"))


class Migration(migrations.Migration):

    dependencies = [
        ("returns", "0002_initial"),
        ("orders", "0007_staff_roles"),
    ]

    operations = [migrations.RunPython(grant_return_permissions, revoke_return_permissions)]
