"""manage.py seed_shipping [--if-empty]: the sample shop's shipping methods, standard and express for every
country (idempotent; `make run` runs it with --if-empty, so a merchant's own methods are never touched)."""

from django.core.management.base import BaseCommand

from shipping import services


class Command(BaseCommand):
    help = "Create the sample shipping methods standard and express (every country)."

    def add_arguments(self, parser):
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the shop has any method")

    def handle(self, *args, if_empty, **options):
        if if_empty and services.shipping_has_methods():
            self.stdout.write("the shop has shipping methods; nothing to seed")
            return
        made = services.shipping_seed_defaults()
        self.stdout.write(f"seeded shipping methods: {', '.join(made) or 'none (already there)'}")
