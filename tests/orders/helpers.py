"""Building checkouts for tests: a product with stock, a cart holding it, and the API body."""

import json
import uuid

from cart import services as cart_services
from tests.factories import make_product

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"


def cart_with(quantity: int = 1, *, stock: int = 5, price: str = "25.00", user_id=None):
    spec = make_product(stock=stock, price=price)
    sku = spec.variants[0].sku
    token = cart_services.cart_create(user_id=user_id).token
    cart_services.cart_add(token=token, sku=sku, quantity=quantity, user_id=user_id)
    return token, sku


def body(token: str, card: str = CARD_OK, email: str = "shopper@example.com", **extra) -> dict:
    return {
        "cart_token": token,
        "email": email,
        "shipping_address": {"name": "Ada Lovelace", "line1": "1 Analytical Way", "line2": "",
                             "city": "London", "postal_code": "N1 7AA", "country": "GB"},
        "payment": {"method": "card", "card_number": card},
        **extra,
    }


def checkout(client, data, key: str | None = "auto"):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": f"test-{uuid.uuid4()}" if key == "auto" else key}
    raw = data if isinstance(data, str) else json.dumps(data)
    return client.post("/api/v1/checkout/", raw, content_type="application/json", **headers)
