"""The module boundaries that imports alone cannot show (import-linter checks the rest in `make test`)."""

import pkgutil
import re
import tomllib
from importlib import import_module
from pathlib import Path

import grimp
import pytest
from django.apps import apps
from django.db import connection

from store.db.backends.postgresql.base import schema_of

OUR_APPS = ["accounts", "catalog", "cart", "inventory", "orders", "payments", "recommendations", "returns", "reviews",
            "shipping"]
PUBLIC_FACE = {"services", "types"}
IMPORTLINTER = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["tool"][
    "importlinter"]
CONTRACTS = IMPORTLINTER["contracts"]
CONTRACT_APPS = [package for package in IMPORTLINTER["root_packages"] if package != "store"]


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
    assert {"accounts", "catalog", "inventory", "orders", "payments", "recommendations", "returns", "reviews",
            "shipping"} <= schemas


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


def app_modules(app: str) -> set[str]:
    """Every module and package directly inside an app (what a new file would add)."""
    return {info.name for info in pkgutil.iter_modules(import_module(app).__path__)}


def test_the_contracts_know_every_module_of_every_app():
    """A new module is private and has its place in the app's layers from the start: import-linter checks only the
    modules a contract names, so one left out of pyproject.toml would slip past both."""
    assert set(OUR_APPS) <= set(CONTRACT_APPS)
    layers = next(c for c in CONTRACTS if c["type"] == "layers" and c.get("containers"))
    assert set(layers["containers"]) == set(CONTRACT_APPS) and layers.get("exhaustive") is True
    placed = {name for layer in layers["layers"] for name in re.findall(r"\w+", layer)}
    protected = {c["name"].split(":")[0]: set(c["protected_modules"]) for c in CONTRACTS if c["type"] == "protected"}
    assert set(protected) == set(CONTRACT_APPS), "one protected contract per app, named '<app>: ...'"
    unplaced, unprotected = [], []
    for app in CONTRACT_APPS:
        for name in sorted(app_modules(app)):
            if name not in placed:
                unplaced.append(f"{app}.{name}")
            if name not in PUBLIC_FACE and f"{app}.{name}" not in protected.get(app, set()):
                unprotected.append(f"{app}.{name}")
    assert unplaced == [], "add these to the layers inside each app (pyproject.toml)"
    assert unprotected == [], "add these to their app's protected contract (pyproject.toml)"


def test_store_core_imports_no_app():
    forbidden = [c for c in CONTRACTS if c["type"] == "forbidden" and "store.core" in c["source_modules"]]
    assert forbidden and set(CONTRACT_APPS) <= set(forbidden[0]["forbidden_modules"])
    graph = grimp.build_graph(*CONTRACT_APPS, "store")
    reaching = [f"{importer} -> {imported}" for importer in graph.find_descendants("store.core") | {"store.core"}
                for imported in graph.find_modules_directly_imported_by(importer)
                if imported.split(".")[0] in CONTRACT_APPS]
    assert reaching == []
