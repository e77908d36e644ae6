"""manage.py promo_code create CODE (--percent P | --amount A) [--uses N] [--per-customer N] [--min-subtotal S]
and promo_code show CODE (docs/api.md): staff and scripts make codes and read how far they are used."""

import argparse
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from orders import services
from store.core.exceptions import ApplicationError

# Which option each of the service's fields came from, to name it in a refusal.
OPTIONS = {"code": "CODE", "value": "--percent/--amount", "max_uses": "--uses",
           "max_uses_per_customer": "--per-customer", "min_subtotal": "--min-subtotal", "products": "--product",
           "categories": "--category"}


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or abs(value) > Decimal("9999999999"):
        # (argparse turns only this error, raised while it converts an option, into a usage message; anything else
        # escapes it as a traceback)
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount such as 10 or 12.50.")
    return value


class Command(BaseCommand):
    help = "Create a promo code, or show one with its uses."

    def add_arguments(self, parser):
        steps = parser.add_subparsers(dest="step", required=True)
        create = steps.add_parser("create", help="a new code; prints it as show does")
        create.add_argument("code")
        off = create.add_mutually_exclusive_group(required=True)
        off.add_argument("--percent", type=_decimal, help="percent off, e.g. 10")
        off.add_argument("--amount", type=_decimal, help="amount off, e.g. 5.00")
        create.add_argument("--uses", type=int, help="total uses (default: no limit)")
        create.add_argument("--per-customer", type=int, help="uses per customer (default: no limit)")
        create.add_argument("--min-subtotal", type=_decimal, default=Decimal("0"), help="the order's minimum")
        create.add_argument("--product", action="append", default=[], help="a product slug it applies to (repeat)")
        create.add_argument("--category", action="append", default=[], help="a category slug it applies to (repeat)")
        steps.add_parser("show", help="prints uses=N/limit and its terms").add_argument("code")

    def handle(self, *args, step, code, **options):
        try:
            if step == "create":
                promo = services.promo_code_create(
                    code=code, percent=options["percent"], amount=options["amount"], uses=options["uses"],
                    per_customer=options["per_customer"], min_subtotal=options["min_subtotal"],
                    products=options["product"], categories=options["category"])
            else:
                promo = services.promo_code_get(code=code)
        except ApplicationError as exc:
            option = OPTIONS.get(exc.extra.get("field", "")) if step == "create" else None
            raise CommandError(f"{option}: {exc.message}" if option else exc.message) from exc
        off = f"{promo.value:.2f}%" if promo.kind == "percent" else f"{promo.value:.2f} off"
        limit = promo.max_uses if promo.max_uses is not None else "unlimited"
        per = promo.max_uses_per_customer if promo.max_uses_per_customer is not None else "unlimited"
        self.stdout.write(f"{promo.code} uses={promo.uses}/{limit} discount={off} per_customer={per} "
                          f"min_subtotal={promo.min_subtotal:.2f} active={'yes' if promo.is_active else 'no'}")
