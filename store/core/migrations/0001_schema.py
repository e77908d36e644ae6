from django.db import migrations


class Migration(migrations.Migration):
    """The core app's own PostgreSQL schema (the outbox), before any of its tables."""

    initial = True
    dependencies = []
    operations = [
        migrations.RunSQL('CREATE SCHEMA IF NOT EXISTS "core"', reverse_sql='DROP SCHEMA IF EXISTS "core"'),
    ]
