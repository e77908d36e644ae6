from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = "Returns"
    db_schema = "returns"

    def ready(self):
        from store.core import outbox

        from . import services, subscribers

        for topic in services.MAILED:
            outbox.subscribe(topic, subscribers.return_send_email)
