import pytest
from django.core.management import CommandError, call_command

from inventory import services
from inventory.models import StockLevel  # only to break the data on purpose

pytestmark = pytest.mark.django_db


@pytest.fixture
def sku():
    services.stock_levels_ensure(initial_on_hand={"SKU-1": 5})
    return "SKU-1"


def test_stock_show_prints_one_exact_line(sku, capsys):
    call_command("stock", "show", sku)
    assert capsys.readouterr().out == "on_hand=5 reserved=0 available=5\n"


def test_stock_set_and_add(sku, capsys):
    call_command("stock", "set", sku, "12", "--reason", "count")
    call_command("stock", "add", sku, "-2")
    assert services.stock_levels(sku=sku).on_hand == 10
    assert capsys.readouterr().out.splitlines()[-1] == "on_hand=10 reserved=0 available=10"


def test_unknown_sku_and_write_off_below_reserved_fail(sku):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("stock", "show", "NOPE")
    services.stock_reserve(reference="R-1", lines={sku: 4})
    with pytest.raises(CommandError, match="would leave 3 on hand, fewer than the 4 units held for unpaid orders"):
        call_command("stock", "add", sku, "-2")
    assert services.stock_levels(sku=sku).on_hand == 5


def test_check_inventory_reports_a_level_that_disagrees_with_its_ledger(sku, capsys):
    call_command("check_inventory")
    StockLevel.objects.filter(sku=sku).update(on_hand=6)  # a change made behind the ledger's back
    with pytest.raises(CommandError):
        call_command("check_inventory")
    assert "SKU-1" in capsys.readouterr().err


def test_the_database_refuses_reserved_above_on_hand(sku):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(sku=sku).update(reserved=6)


def test_release_expired_reservations_command(sku, capsys):
    from datetime import timedelta

    services.stock_reserve(reference="LATE", lines={sku: 2}, ttl=timedelta(minutes=-5))
    call_command("release_expired_reservations")
    assert "released 1 expired reservation(s): LATE" in capsys.readouterr().out
    assert services.stock_levels(sku=sku).reserved == 0
