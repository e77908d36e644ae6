"""make run's first start: the sample orders belong to sample accounts, whose reviews the reviews seed writes, so
a fresh clone's product cards show stars; the ratings equal a recount."""

import re

import pytest
from django.core.management import call_command
from django.test import Client

from reviews.models import Review

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sample_orders_buyers_review_what_they_bought_and_cards_show_stars(capsys, settings):
    settings.RATE_LIMITS = {}
    call_command("seed_catalog", products=30, no_images=True)
    call_command("seed_orders", orders=40, workers=1)
    call_command("reviews", "seed", "--if-empty")  # as make run calls them, in this order
    written = int(re.search(r"wrote (\d+) sample reviews", capsys.readouterr().out).group(1))
    assert written > 5 and Review.objects.count() == written
    assert Review.objects.filter(status="published").count() == written
    call_command("reviews", "recount")  # exits 0: every rating equals a recount
    cards = Client().get("/api/v1/products/", {"sort": "rating"}).json()["results"]
    assert cards[0]["rating"]["count"] > 0 and cards[0]["rating"]["average"]
