"""Template filters for the storefront: money with its currency sign."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@register.filter
def money(amount, currency="USD"):
    """12.5, "USD" → "$12.50"; an unknown currency is shown by its code ("12.50 CHF")."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = f"{value:,.2f}"
    symbol = SYMBOLS.get(str(currency))
    return f"{symbol}{text}" if symbol else f"{text} {currency}"
