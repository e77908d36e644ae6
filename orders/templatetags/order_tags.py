"""Template filters for orders: statuses in words."""

from django import template

from orders.services import Status
from shipping import services as shipping_services

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """"pending_payment" → "Pending payment" (the words staff and shoppers read; the API keeps the codes)."""
    try:
        return Status(value).label
    except ValueError:
        return str(value).replace("_", " ").capitalize()


@register.filter
def address_lines(address: dict) -> list[str]:
    """A shipping address as its country prints it ("PORTLAND, OR 97201" in the US), line by line."""
    return shipping_services.address_lines(address or {})
