"""The module boundaries that imports alone cannot show (import-linter checks the rest in `make test`)."""

import grimp
import pytest
from django.apps import apps
from django.db import connection

from store.db.backends.postgresql.base import schema_of

OUR_APPS = ["accounts", "catalog", "cart", "inventory", "orders", "payments"]
PUBLIC_FACE = {"services", "types"}


def our_models():
    return [m for label in OUR_APPS for m in apps.get_app_config(label).get_models()]


def test_no_relation_points_into_another_app():
    crossing = [
        f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}"
        for model in our_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.related_model is not None
        and field.related_model._meta.app_label != model._meta.app_label
    ]
    assert crossing == []


@pytest.mark.django_db
def test_every_table_lives_in_its_apps_schema():
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, table_schema FROM information_schema.tables")
        where = dict(cursor.fetchall())
    tables = [(m._meta.db_table, m._meta.app_label) for m in our_models()]
    tables += [(f.remote_field.through._meta.db_table, m._meta.app_label)
               for m in our_models() for f in m._meta.local_many_to_many]
    assert tables, "the apps have tables to check"
    misplaced = {table: where.get(table) for table, label in tables if where.get(table) != schema_of(label)}
    assert misplaced == {}


@pytest.mark.django_db
def test_each_app_with_tables_has_its_own_schema():
    with connection.cursor() as cursor:
        cursor.execute("SELECT schema_name FROM information_schema.schemata")
        schemas = {row[0] for row in cursor.fetchall()}
    assert {"catalog", "inventory", "orders", "payments"} <= schemas


def test_apps_import_each_other_only_through_services_and_types():
    graph = grimp.build_graph(*OUR_APPS, "store")
    offending = []
    for importer in graph.modules:
        importer_app = importer.split(".")[0]
        if importer_app not in OUR_APPS:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            parts = imported.split(".")
            if parts[0] in OUR_APPS and parts[0] != importer_app and (len(parts) < 2 or parts[1] not in PUBLIC_FACE):
                offending.append(f"{importer} -> {imported}")
    assert offending == []
