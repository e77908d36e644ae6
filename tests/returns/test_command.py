"""manage.py returns show|approve|receive|refund (docs/api.md): each step idempotent, exit 1 with a message when the
return's status does not allow it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from returns import services
from returns.types import ReturnRequest
from tests.returns.helpers import on_hand, paid_order, refunded

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("returns", *args, stdout=out)
    return out.getvalue().strip()


def test_staff_run_a_return_from_the_command_line(settings):
    settings.RATE_LIMITS = {}
    number, sku, token = paid_order(quantity=3, stock=5, price="10.00")
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: 3}, reason="damaged")).number
    assert run("show", ret) == f"status=requested lines={sku}:3/0/0"
    with pytest.raises(CommandError, match="approve it first"):
        run("receive", ret)
    with pytest.raises(CommandError, match="requested"):
        run("refund", ret)
    assert run("approve", ret) == f"status=approved lines={sku}:3/0/0"
    assert run("approve", ret) == f"status=approved lines={sku}:3/0/0"
    assert run("receive", ret, "--damaged", f"{sku}=1") == f"status=received lines={sku}:3/3/2"
    assert run("receive", ret) == f"status=received lines={sku}:3/3/2"  # again: nothing more
    assert on_hand(sku) == 4
    assert run("refund", ret) == "refunded 30.00 USD"
    assert run("refund", ret) == "refunded 30.00 USD"
    assert refunded(number) == 30
    assert run("show", ret) == f"status=refunded lines={sku}:3/3/2"
    call_command("check_inventory")


def test_unknown_returns_and_bad_damaged_counts_exit_with_a_message(settings):
    settings.RATE_LIMITS = {}
    with pytest.raises(CommandError, match="No such return"):
        run("show", "R-NOPE")
    number, sku, token = paid_order(quantity=1)
    ret = services.return_request(order_number=number, token=token,
                                  request=ReturnRequest(lines={sku: 1}, reason="other")).number
    run("approve", ret)
    for bad in ("SKU", f"{sku}=x", f"{sku}=-1", "=1"):
        with pytest.raises(CommandError, match="SKU=N"):
            run("receive", ret, "--damaged", bad)
    with pytest.raises(CommandError, match="not on return"):
        run("receive", ret, "--damaged", "OTHER=1")
    with pytest.raises(CommandError, match="cannot be damaged"):
        run("receive", ret, "--damaged", f"{sku}=2")
    assert run("show", ret) == f"status=approved lines={sku}:1/0/0"
