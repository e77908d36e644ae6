from django.db import migrations


class Migration(migrations.Migration):
    """The app's own PostgreSQL schema, before any of its tables."""

    initial = True
    dependencies = []
    operations = [
        migrations.RunSQL('CREATE SCHEMA IF NOT EXISTS "accounts"', reverse_sql='DROP SCHEMA IF EXISTS "accounts"'),
    ]
