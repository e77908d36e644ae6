"""seed_orders places real paid orders (the inventory's invariants hold) that the recommender learns from its
events, and refuses without the test gateway."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog import services as catalog_services
from catalog.sample_data import sample_products
from recommendations.models import Purchase

pytestmark = pytest.mark.django_db


def test_seeded_orders_are_paid_through_the_checkout_and_learned(settings, capsys):
    settings.PAYMENTS_TEST_MODE = True
    catalog_services.catalog_import(products=list(sample_products(count=28, seed=1, with_images=False)))
    call_command("seed_orders", orders=12, seed=2, workers=1)
    assert "seeded 12 paid orders (0 refused)" in capsys.readouterr().out
    assert Purchase.objects.exclude(products=[]).count() == 12
    call_command("check_inventory")
    call_command("seed_orders", orders=5, if_empty=True)
    assert "already has orders" in capsys.readouterr().out


def test_without_the_test_gateway_nothing_is_seeded(settings):
    settings.PAYMENTS_TEST_MODE = False
    with pytest.raises(CommandError, match="PAYMENTS_TEST_MODE"):
        call_command("seed_orders", orders=1)
