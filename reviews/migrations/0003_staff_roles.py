"""The shipped staff roles (orders/migrations/0007_staff_roles.py) and reviews: Support reads reviews, flags and the
moderation log and approves or hides reviews (no money or stock moves); Fulfilment inherits that; Manager also
deletes reviews."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPPORT = ["reviews.view_review", "reviews.view_reviewflag", "reviews.view_moderationevent",
           "reviews.view_productrating", "reviews.approve_review", "reviews.hide_review"]
FULFILMENT = [*SUPPORT]
MANAGER = [*FULFILMENT, "reviews.delete_review"]
ROLES = {"Support": SUPPORT, "Fulfilment": FULFILMENT, "Manager": MANAGER}


def grant_review_permissions(apps, schema_editor):
    create_permissions(global_apps.get_app_config("reviews"), apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke_review_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="reviews"))


class Migration(migrations.Migration):

    dependencies = [
        ("reviews", "0002_initial"),
        ("orders", "0007_staff_roles"),
    ]

    operations = [migrations.RunPython(grant_review_permissions, revoke_review_permissions)]
