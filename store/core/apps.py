from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "store.core"
    label = "core"
    verbose_name = "Store core"
    db_schema = "core"  # the outbox
