"""manage.py check_inventory: every stock invariant, exit 1 with a report on any violation."""

from django.core.management.base import BaseCommand, CommandError

from inventory import services


class Command(BaseCommand):
    help = "Verify that stock levels equal the ledger and that 0 <= reserved <= on_hand for every SKU."

    def handle(self, *args, **options):
        problems = services.stock_invariant_violations()
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(f"{len(problems)} inventory invariant violation(s)")
        self.stdout.write("inventory ok: every level equals its ledger and 0 <= reserved <= on_hand")
