"""manage.py seed_catalog [--products N] [--seed S] [--if-empty]: a realistic sample catalogue (idempotent)."""

from itertools import islice

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog import services
from catalog.sample_data import sample_products

BATCH = 500


class Command(BaseCommand):
    help = "Create a realistic sample catalogue: categories, products, variants, images, prices and stock."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=240, help="how many products (default 240)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed makes the same catalogue")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the shop has any product")
        parser.add_argument("--no-images", action="store_true", help="skip the generated pictures (faster)")

    def handle(self, *args, products, seed, if_empty, no_images, **options):
        if products < 0:
            raise CommandError("--products must be zero or more")
        if if_empty and not services.catalog_is_empty():
            self.stdout.write("the catalogue already has products; nothing to seed")
            return
        specs = sample_products(count=products, seed=seed, with_images=not no_images)
        created = 0
        with tqdm(total=products, unit="product", disable=products < 1000, mininterval=1,
                  file=self.stderr._out) as bar:
            while batch := list(islice(specs, BATCH)):
                created += services.catalog_import(products=batch)
                bar.update(len(batch))
        if created:
            services.catalog_analyze()  # fresh statistics, so the planner uses the search indexes
        self.stdout.write(f"seeded {created} new products ({products - created} already there)")
