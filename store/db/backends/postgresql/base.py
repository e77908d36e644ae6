"""PostgreSQL backend that puts each app's tables in the schema named on its AppConfig (``db_schema``).

Django has no per-model schema option. The connection's ``search_path`` lists every app schema (settings), so
queries find tables unqualified; this schema editor only decides *where a table is created*: it creates the
app's schema if needed and points ``search_path`` at it for the CREATE TABLE. Indexes, sequences and
constraints follow their table. Apps without ``db_schema`` (Django's own) stay in ``public``.
"""

from django.apps import apps
from django.conf import settings
from django.db.backends.postgresql import base, schema


def schema_of(app_label: str) -> str:
    try:
        return getattr(apps.get_app_config(app_label), "db_schema", "public")
    except LookupError:
        return "public"


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    def create_model(self, model):
        target = schema_of(model._meta.app_label)
        if target == "public":
            return super().create_model(model)
        quoted = self.quote_name(target)
        self.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted}")
        self.execute(f"SET search_path TO {quoted}")
        try:
            super().create_model(model)
        finally:
            self.execute(f"SET search_path TO {settings.DATABASE_SEARCH_PATH}")


class DatabaseWrapper(base.DatabaseWrapper):
    SchemaEditorClass = DatabaseSchemaEditor
