"""manage.py seed_orders --orders N [--seed S] [--if-empty] [--workers W] [--no-deliver]: paid sample history.

Every order is a real one, placed through the checkout (priced, stock reserved and committed through inventory's
ledger, paid with the test gateway's card, confirmed), so every invariant holds (check_inventory); the baskets
carry the structure described in orders/sample_data.py. A variant is restocked first (a receipt in the ledger)
when an order would find its product sold out. Orders are placed by a few threads at once, each on its own
connection. The events they publish are then delivered here, so that whoever learns from them (the recommender)
has, unless ``--no-deliver`` leaves them to the Celery worker (make run's first start)."""

import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from catalog import services as catalog_services
from inventory import services as inventory_services
from inventory.types import InsufficientStock
from orders import services
from orders.checkout import checkout_parse, checkout_place
from orders.sample_data import sample_baskets
from store.core import outbox
from store.core.exceptions import ApplicationError

CARD_OK = "4242424242424242"
ADDRESS = {"name": "Sample Shopper", "line1": "1 Sample Street", "line2": "", "city": "London",
           "postal_code": "N1 7AA", "country": "GB"}
RESTOCK = 20


class Command(BaseCommand):
    help = ("Create paid sample orders with structure a recommender should find (complementary categories, brand "
            "loyalty, companions) and noise, through the real checkout.")

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=500, help="how many orders (default 500)")
        parser.add_argument("--seed", type=int, default=1, help="the same seed makes the same baskets")
        parser.add_argument("--if-empty", action="store_true", help="do nothing if the shop has any order")
        parser.add_argument("--workers", type=int, default=4, help="checkouts at once (default 4)")
        parser.add_argument("--no-deliver", action="store_true",
                            help="leave the orders' events to the Celery worker instead of delivering them here")

    def handle(self, *args, orders, seed, if_empty, workers, no_deliver, **options):
        if orders < 0 or not 1 <= workers <= 32:
            raise CommandError("--orders must be zero or more and --workers from 1 to 32")
        if if_empty and services.orders_exist():
            self.stdout.write("the shop already has orders; nothing to seed")
            return
        if not settings.PAYMENTS_TEST_MODE:
            raise CommandError("seed_orders pays with the test gateway's card: only with PAYMENTS_TEST_MODE=1 "
                               "(as under make run), never with real payments")
        products = catalog_services.product_features()
        if not products:
            raise CommandError("the catalogue is empty: run seed_catalog first")
        started = time.perf_counter()
        skus = {p["slug"]: p["skus"] for p in products if p["skus"]}
        baskets = [(n, shopper, basket) for n, (shopper, basket) in
                   enumerate(sample_baskets(products, orders=orders, seed=seed))]
        accounts = _accounts({shopper for _, shopper, _ in baskets})  # their history, as reviews verify a buyer
        refused: list[str] = []

        def place(job) -> None:
            n, shopper, basket = job
            try:
                data = checkout_parse({"cart_token": f"seed-{seed}-{n}", "email": f"shopper{shopper}@example.com",
                                       "shipping_address": ADDRESS,
                                       "payment": {"method": "card", "card_number": CARD_OK}})
                for attempt in range(2):
                    try:
                        checkout_place(data=data, customer=accounts[shopper],
                                       lines=_lines(basket, skus, restock=attempt > 0))
                        return
                    except InsufficientStock:  # another thread took the last units meanwhile
                        if attempt:
                            raise
            except ApplicationError as exc:
                refused.append(f"order {n}: {exc.message}")

        def run(chunk) -> None:
            try:
                for job in chunk:
                    place(job)
            finally:
                connection.close()  # this thread's own connection

        if workers == 1:  # on this thread's connection (inside a caller's transaction, a test's say)
            for job in baskets:
                place(job)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, [baskets[i::workers] for i in range(workers)]))
        for line in refused:
            self.stderr.write(line)
        delivered = 0 if no_deliver else outbox.relay_pending(limit=10 * orders + 100)
        self.stdout.write(f"seeded {len(baskets) - len(refused)} paid orders ({len(refused)} refused) in "
                          f"{time.perf_counter() - started:.1f} s"
                          + ("" if no_deliver else f"; {delivered} events delivered"))


def _accounts(shoppers: set[int]) -> dict[int, int]:
    """A sample account (no usable password: nobody signs in as it) for each shopper: shopper number -> user id."""
    users = get_user_model().objects
    ids = {}
    for shopper in sorted(shoppers):
        user, created = users.get_or_create(username=f"shopper{shopper}",
                                            defaults={"email": f"shopper{shopper}@example.com"})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        ids[shopper] = user.pk
    return ids


def _lines(basket: list[str], skus: dict[str, list[str]], *, restock: bool = False) -> dict[str, int]:
    """One unit of each product, of a variant in stock (restocked first when none is, or when ``restock``)."""
    wanted = [skus[slug] for slug in basket if slug in skus]
    available = inventory_services.stock_availability(skus=[sku for options in wanted for sku in options])
    lines = {}
    for options in wanted:
        sku = next((s for s in options if available.get(s, 0) > 0), None)
        if sku is None or restock:
            sku = sku or options[0]
            inventory_services.stock_receive(sku=sku, quantity=RESTOCK, reason="seed_orders: sample history")
        lines[sku] = 1
    return lines
