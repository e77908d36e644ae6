"""manage.py stock show SKU | set SKU QTY [--reason] | add SKU N [--reason]  (docs/api.md)."""

from django.core.management.base import BaseCommand, CommandError

from inventory import services
from store.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Show or change the stock of one SKU."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        show = actions.add_parser("show", help="print on_hand, reserved and available")
        show.add_argument("sku")
        set_ = actions.add_parser("set", help="set on_hand to a counted figure (a ledger adjustment)")
        set_.add_argument("sku")
        set_.add_argument("quantity", type=int)
        set_.add_argument("--reason", default="manage.py stock set")
        add = actions.add_parser("add", help="receive N units (negative: write off)")
        add.add_argument("sku")
        add.add_argument("quantity", type=int)
        add.add_argument("--reason", default="manage.py stock add")

    def handle(self, *args, action, sku, quantity=None, reason="", **options):
        try:
            if action == "set":
                if quantity < 0:
                    raise CommandError("QTY must be zero or more")
                levels = services.stock_set(sku=sku, on_hand=quantity, reason=reason)
            elif action == "add":
                levels = services.stock_receive(sku=sku, quantity=quantity, reason=reason)
            else:
                levels = services.stock_levels(sku=sku)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"on_hand={levels.on_hand} reserved={levels.reserved} available={levels.available}")
