from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalogue"
    db_schema = "catalog"

    def ready(self):
        from inventory import services as inventory_services
        from inventory.services import STOCK_CHANGED
        from store.core import events, outbox

        from . import services

        events.subscribe(STOCK_CHANGED, services.catalog_stock_changed)
        outbox.subscribe(services.PRODUCTS_CHANGED, services.products_index)
        # staff screens of stock show and find SKUs by their product's and variant's names
        inventory_services.sku_names_provide(names=services.variant_names, find=services.variant_skus_matching)
