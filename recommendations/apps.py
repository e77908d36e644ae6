from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"
    db_schema = "recommendations"

    def ready(self):
        from store.core import outbox

        from . import subscribers

        # Learning only from events: the order named by each is read back through orders' services.
        for topic in subscribers.TOPICS:
            outbox.subscribe(topic, subscribers.order_changed)
