from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    """pg_trgm, for typo-tolerant product search (installed where the connection's search_path puts it)."""

    dependencies = [("catalog", "0002_initial")]
    operations = [TrigramExtension()]
