"""manage.py returns show|approve|receive|refund R-… (docs/api.md): staff and scripts run the returns queue. Each step
is idempotent; a step the return's status does not allow exits 1 with a message."""

import re

from django.core.management.base import BaseCommand, CommandError

from returns import services
from store.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Show, approve, receive or refund a return."

    def add_arguments(self, parser):
        steps = parser.add_subparsers(dest="step", required=True)
        steps.add_parser("show", help="prints status=… and SKU:requested/received/restocked per line") \
            .add_argument("number")
        steps.add_parser("approve", help="accept a requested return").add_argument("number")
        receive = steps.add_parser("receive", help="every requested unit arrived; restocked unless named damaged")
        receive.add_argument("number")
        receive.add_argument("--damaged", action="append", default=[], metavar="SKU=N",
                             help="units of SKU written off as damaged (repeat for more SKUs)")
        steps.add_parser("refund", help="refund the units received; prints the amount").add_argument("number")

    def handle(self, *args, step, number, **options):
        try:
            if step == "approve":
                ret = services.return_approve(number=number, by="manage.py")
            elif step == "receive":
                ret = services.return_receive(number=number, damaged=_counts(options["damaged"]), by="manage.py")
            elif step == "refund":
                ret = services.return_refund(number=number, by="manage.py")
                self.stdout.write(f"refunded {ret.refund_amount:.2f} {ret.currency}")
                return
            else:
                ret = services.return_view(number=number)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        lines = " ".join(f"{line.sku}:{line.quantity}/{line.received}/{line.restocked}" for line in ret.lines)
        self.stdout.write(f"status={ret.status} lines={lines}")


def _counts(pairs: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for pair in pairs:
        sku, _, units = pair.partition("=")
        if not sku or not re.fullmatch(r"[0-9]{1,6}", units):
            raise CommandError(f"--damaged takes SKU=N (N a whole number), not {pair!r}.")
        counts[sku] = counts.get(sku, 0) + int(units)
    return counts
