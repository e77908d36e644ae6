"""Celery tasks of the recommender; thin: they call services."""

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def recommendations_rebuild() -> None:
    """Nightly (beat): every count and list from the learned purchases and today's catalogue."""
    services.recommendations_rebuild()


@shared_task(ignore_result=True)
def recommendations_popular() -> None:
    """Every minute (beat): the popularity lists from the counts orders have moved."""
    services.popular_refresh()


@shared_task(ignore_result=True)
def recommendations_views() -> None:
    """Every minute (beat): the product views the web processes handed to Redis become co-view lists."""
    services.views_learn()
    services.visitor_views_forget()
