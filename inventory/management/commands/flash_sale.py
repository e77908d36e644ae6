"""manage.py flash_sale start SKU [--at TIME] | stop SKU | show SKU  (docs/api.md)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from inventory import services
from store.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Turn the flash-sale admission gate on for a SKU (loaded from its available stock), off, or show it."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        start = actions.add_parser("start", help="gate the SKU from now, or from --at")
        start.add_argument("sku")
        start.add_argument("--at", help="ISO time, e.g. 2026-12-01T09:00:00Z (UTC if no offset)")
        for name in ("stop", "show"):
            actions.add_parser(name).add_argument("sku")

    def handle(self, *args, action, sku, at=None, **options):
        when = None
        if at:
            when = parse_datetime(at)
            if when is None:
                raise CommandError(f"--at {at!r} is not a date and time like 2026-12-01T09:00:00Z")
            if timezone.is_naive(when):
                when = timezone.make_aware(when, timezone.UTC)
        try:
            if action == "start":
                state = services.flash_sale_start(sku=sku, at=when)
            elif action == "stop":
                state = services.flash_sale_stop(sku=sku)
            else:
                state = services.flash_sale_show(sku=sku)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        starts = f" starts_at={state['starts_at']:%Y-%m-%dT%H:%M:%SZ}" if state["starts_at"] else ""
        tokens = f" tokens={state['tokens']}" if state["tokens"] is not None else ""
        self.stdout.write(f"{sku}: {'on' if state['active'] else 'off'}{starts}{tokens} "
                          f"available={state['available']}")
