from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Reviews"
    db_schema = "reviews"

    def ready(self):
        from catalog.services import PRODUCTS_DELETED
        from store.core import outbox

        from . import subscribers

        outbox.subscribe(PRODUCTS_DELETED, subscribers.products_deleted)
