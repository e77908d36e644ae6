from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"
    db_schema = "catalog"

    def ready(self):
        from inventory.services import STOCK_CHANGED
        from store.core import events, outbox

        from . import services

        events.subscribe(STOCK_CHANGED, services.catalog_stock_changed)
        outbox.subscribe(services.PRODUCTS_CHANGED, services.products_index)
