"""manage.py search_index --rebuild: rebuild the active search backend's index (API.md).

With PostgreSQL search (the default) that is every product's stored search document; the Elasticsearch backend
arrives with its own issue and will rebuild its index here too."""

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
        self.stdout.write(f"rebuilt the search documents of {count} products (PostgreSQL full-text search)")
