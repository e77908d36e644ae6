"""The recommendations' own reads: precomputed lists by key, in one query."""

from __future__ import annotations

from collections.abc import Iterable

from .models import RecommendationList


def lists(keys: Iterable[str]) -> dict[str, list[list]]:
    """The stored lists among ``keys`` (missing ones are left out): one round trip, on the primary key's index."""
    return dict(RecommendationList.objects.filter(key__in=list(keys)).values_list("key", "items"))
