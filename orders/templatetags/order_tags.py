"""Template filters for orders: statuses in words."""

from django import template

from orders.services import Status

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """"pending_payment" → "Pending payment" (the words staff and shoppers read; the API keeps the codes)."""
    try:
        return Status(value).label
    except ValueError:
        return str(value).replace("_", " ").capitalize()
