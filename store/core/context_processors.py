"""What every page's layout needs: the shop's name, the category menu and the cart badge."""

from django.conf import settings

from cart import services as cart_services
from catalog import services as catalog_services


def shop(request):
    return {
        "store_name": settings.STORE_NAME,
        "menu_categories": catalog_services.category_menu(),
        "cart_line_count": cart_services.cart_line_count(token=request.session.get("cart_token")),
    }
