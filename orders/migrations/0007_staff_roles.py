"""The three staff roles a merchant can assign: Support looks, Fulfilment also ships and moves stock, Manager also
moves money (cancel, refund) and decides what is on sale. Each role holds the one before it.

Permissions are normally created after migrate (post_migrate), so the ones named here are created first, for each
app, with django.contrib.auth.management.create_permissions on the historical models."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = [
    "orders.view_order", "orders.view_orderline", "orders.view_orderevent", "orders.view_orderrefund",
    "payments.view_payment", "payments.view_refund",
    "inventory.view_stocklevel", "inventory.view_stockmovement", "inventory.view_reservation",
    "inventory.view_flashsale",
    "catalog.view_product", "catalog.view_variant", "catalog.view_productimage", "catalog.view_category",
]
FULFILMENT = [*SUPPORT, "orders.ship_order", "inventory.adjust_stock", "inventory.release_reservation"]
MANAGER = [*FULFILMENT, "orders.cancel_order", "orders.refund_order", "catalog.activate_product",
           "inventory.run_flash_sale"]
ROLES = {"Support": SUPPORT, "Fulfilment": FULFILMENT, "Manager": MANAGER}
APPS = ["orders", "payments", "inventory", "catalog"]


def create_staff_roles(apps, schema_editor):
    for label in APPS:
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            # .get(): a name missing here is a typo or a renamed model, and must stop the migration
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def delete_staff_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("orders", "0006_order_permissions"),
        ("inventory", "0005_stock_permissions"),
        ("catalog", "0006_product_permissions"),
        ("payments", "0005_stripe_checkout"),
    ]

    operations = [migrations.RunPython(create_staff_roles, delete_staff_roles)]
