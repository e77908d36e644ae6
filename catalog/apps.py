from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"
    db_schema = "catalog"

    def ready(self):
        from inventory.services import STOCK_CHANGED
        from store.core import events

        from . import services

        events.subscribe(STOCK_CHANGED, services.catalog_stock_changed)
