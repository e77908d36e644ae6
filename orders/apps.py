from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    db_schema = "orders"

    def ready(self):
        from inventory.services import RESERVATION_EXPIRED
        from payments.services import PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_SUCCEEDED
        from store.core import outbox

        from . import services

        outbox.subscribe(RESERVATION_EXPIRED, services.order_reservation_expired)
        outbox.subscribe(services.PAYMENT_UNKNOWN, services.order_settle_payment)
        outbox.subscribe(services.ORDER_PAID, services.order_send_confirmation)
        outbox.subscribe(services.ORDER_CANCELLED, services.order_send_cancellation)
        outbox.subscribe(PAYMENT_SUCCEEDED, services.order_payment_succeeded)
        outbox.subscribe(PAYMENT_FAILED, services.order_payment_failed)
        outbox.subscribe(PAYMENT_REFUNDED, services.order_payment_refunded)
