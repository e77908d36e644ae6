from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "store.core"
    label = "core"
    verbose_name = "Store core"
    db_schema = "core"  # the outbox

    def ready(self):
        from store.core import fastrandom

        fastrandom.install()  # CSRF tokens and session keys in one getrandom() call each (see the module)
