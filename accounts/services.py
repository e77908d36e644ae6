"""Accounts' use cases: what happens to a shopper's cart when they sign up or log in."""

from __future__ import annotations

from cart import services as cart_services
from cart.types import CartUnavailable


def account_signed_in(*, user_id: int, guest_cart_token: str | None) -> tuple[str | None, list[str]]:
    """A shopper just signed in: fold the cart they filled as a guest into their own. Returns (their cart token,
    messages about the merge). If carts are unavailable the sign-in still succeeds, with the guest token kept."""
    try:
        return cart_services.cart_merge_on_login(guest_token=guest_cart_token, user_id=user_id)
    except CartUnavailable:
        return guest_cart_token, []
