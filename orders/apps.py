from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"
    db_schema = "orders"

    def ready(self):
        from cart.services import cart_estimate_provide, cart_promo_provide
        from inventory.services import RESERVATION_EXPIRED
        from payments.services import PAYMENT_FAILED, PAYMENT_REFUNDED, PAYMENT_SUCCEEDED
        from store.core import outbox

        from . import checkout, services, subscribers

        cart_promo_provide(quote=checkout.checkout_cart_promo)
        cart_estimate_provide(estimate=checkout.checkout_cart_estimate)

        outbox.subscribe(RESERVATION_EXPIRED, subscribers.order_reservation_expired)
        outbox.subscribe(services.PAYMENT_UNKNOWN, subscribers.order_settle_payment)
        outbox.subscribe(services.CART_CLEAR, subscribers.order_clear_cart)
        outbox.subscribe(services.ORDER_PAID, subscribers.order_send_confirmation)
        outbox.subscribe(services.ORDER_CANCELLED, subscribers.order_send_cancellation)
        outbox.subscribe(services.ORDER_REFUNDED, subscribers.order_send_refund)
        outbox.subscribe(services.ORDER_SHIPPED, subscribers.order_send_shipped)
        outbox.subscribe(PAYMENT_SUCCEEDED, subscribers.order_payment_succeeded)
        outbox.subscribe(PAYMENT_FAILED, subscribers.order_payment_failed)
        outbox.subscribe(PAYMENT_REFUNDED, subscribers.order_payment_refunded)
