"""manage.py search_index --rebuild: rebuild the search index (docs/api.md): every product's stored search document
in PostgreSQL, and the Elasticsearch index as well when ELASTICSEARCH_URL is set."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog import services


class Command(BaseCommand):
    help = "Rebuild the search index of every product."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="rebuild the whole index")

    def handle(self, *args, rebuild, **options):
        if not rebuild:
            raise CommandError("say what to do: --rebuild")
        count = services.search_index_rebuild()
        where = "PostgreSQL full-text search" + (" and Elasticsearch" if settings.ELASTICSEARCH_URL else "")
        self.stdout.write(f"rebuilt the search documents of {count} products ({where})")
