"""Accounts' use cases: signing up by e-mail, changing it (confirmed by a link sent to the new address), and what
happens to a shopper's cart and guest orders when they sign up or log in (the orders only for the address the
account confirmed, recorded in AccountProfile)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.core.mail import send_mail
from django.db import DatabaseError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from cart import services as cart_services
from cart.types import CartUnavailable
from orders import services as order_services
from store.core import outbox
from store.core.addresses import same_address

from .models import AccountProfile

logger = logging.getLogger(__name__)

RESET_ASKED = "account.reset_asked"  # an outbox topic
EMAIL_CHANGE_SALT = "accounts.services.email-change"
EMAIL_CHANGE_MAX_AGE = 24 * 60 * 60  # seconds an e-mail change's link stays good


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token (void once the account signs in), but never valid as one."""

    key_salt = "accounts.services.ActivationTokenGenerator"


activation_tokens = ActivationTokenGenerator()


def account_signed_in(*, user_id: int, guest_cart_token: str | None) -> tuple[str | None, list[str]]:
    """A shopper just signed in (logged in, or opened their activation link): fold the cart they filled as a guest
    into their own, and, while the account's address is still the one a link sent to it confirmed, the orders placed
    as a guest with that address (before or since) into its history. An address set any other way (by staff in the
    admin) claims nothing: who holds it never showed they read its mail. Returns (their cart token, messages). If
    carts are unavailable the sign-in still succeeds, with the guest token kept."""
    notes = []
    email = _confirmed_address(user_id=user_id)
    if email:
        try:
            claimed = order_services.order_claim_guest_orders(user_id=user_id, email=email)
        except DatabaseError:  # (a lock timeout, a lost connection) the orders join at a later sign-in
            logger.warning("accounts: guest orders of account %s not claimed at sign-in", user_id, exc_info=True)
            claimed = 0
        if claimed:
            notes.append(f"{claimed} earlier order{'s' if claimed != 1 else ''} placed with {email} "
                         f"{'are' if claimed != 1 else 'is'} now in your order history.")
    try:
        token, merged = cart_services.cart_merge_on_login(guest_token=guest_cart_token, user_id=user_id)
    except CartUnavailable:
        return guest_cart_token, notes
    return token, [*merged, *notes]


def account_sign_up(*, username: str, email: str, password: str) -> None:
    """Someone asked for an account with this address. A new address gets an inactive account and a link that
    activates it; an address that already has an account gets a note saying someone tried, with how to log in or
    reset the password. The caller answers the same either way, and both ways cost one password hash and one
    e-mail, so neither the page nor its timing tells which addresses have accounts."""
    user_model = get_user_model()
    password_hash = make_password(password)  # hashed on both paths: the slow step must not tell them apart
    with transaction.atomic():
        existing = next((user for user in user_model.objects.filter(email__iexact=email).order_by("pk")
                         if same_address(user.email, email)), None)
        if existing is not None and existing.is_active:
            transaction.on_commit(lambda: _send(existing, "already_registered", login_url=_url("accounts:login"),
                                                reset_url=_url("accounts:password_reset")))
            return
        if existing is not None:
            # Signed up but never confirmed: the account is this sign-up's now, its name (unless another account
            # has it) and password, and links sent before are void (the token covers the password). Otherwise a
            # stranger who signed up with this address first would own what its owner's link confirms.
            user = existing
            if not user_model.objects.filter(username=username).exclude(pk=user.pk).exists():
                user.username = username
            user.password = password_hash
            user.save(update_fields=["username", "password"])
        else:
            user = user_model(username=username, email=email, password=password_hash, is_active=False)
            user.full_clean()
            user.save()
    link = _url("accounts:activate", uidb64=urlsafe_base64_encode(force_bytes(user.pk)),
                token=activation_tokens.make_token(user))
    transaction.on_commit(lambda: _send(user, "activate", activate_url=link))


def account_pending_activation(*, uidb64: str, token: str):
    """The inactive account an activation link is for, or None if the link is wrong, used or expired."""
    try:
        user = get_user_model().objects.get(pk=force_str(urlsafe_base64_decode(uidb64)), is_active=False)
    except (TypeError, ValueError, OverflowError, get_user_model().DoesNotExist):
        return None
    return user if activation_tokens.check_token(user, token) else None


def account_activate(*, user) -> None:
    """The activation link was opened: the account is active and its address confirmed as the shopper's."""
    with transaction.atomic():
        user.is_active = True
        user.save(update_fields=["is_active"])
        _confirm_address(user_id=user.pk, email=user.email)


def _confirm_address(*, user_id: int, email: str) -> None:
    """Record ``email`` as the address a link sent to it confirmed for this account."""
    AccountProfile.objects.update_or_create(user_id=user_id,
                                            defaults={"verified_email": email, "verified_at": timezone.now()})


def _confirmed_address(*, user_id: int) -> str:
    """The account's address if a link confirmed it (compared as the claim compares: same_address), else ''."""
    email = get_user_model().objects.filter(pk=user_id).values_list("email", flat=True).first() or ""
    confirmed = AccountProfile.objects.filter(user_id=user_id).values_list("verified_email", flat=True).first()
    return email if email and confirmed and same_address(email, confirmed) else ""


def _url(name: str, **kwargs) -> str:
    return settings.STORE_URL + reverse(name, kwargs=kwargs or None)


def _send(user, template: str, *, to: str = "", **context) -> None:
    context = {"user": user, "store_name": settings.STORE_NAME, **context}
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context).strip()
    body = render_to_string(f"accounts/email/{template}.txt", context)
    send_mail(subject, body, None, [to or user.email])


# ---------------------------------------------------------------- changing the e-mail address
class EmailChangeSigner(signing.TimestampSigner):
    """Signs an e-mail change: the account, its address now and the new one, with the time (max_age)."""

    def __init__(self):
        super().__init__(salt=EMAIL_CHANGE_SALT)


def _taken(email: str, user) -> bool:
    return get_user_model().objects.filter(email__iexact=email).exclude(pk=user.pk).exists()


def account_email_change_request(*, user, new_email: str) -> None:
    """A signed-in shopper asked to make ``new_email`` their address. Nothing changes now: the new address gets a
    link (signed, good for EMAIL_CHANGE_MAX_AGE, for this account and its present address only) that the shopper
    opens while signed in. An address another account holds gets a note saying so instead, and the page answers
    the same, so the form tells no one which addresses have accounts."""
    if _taken(new_email, user):
        transaction.on_commit(lambda: _send(user, "email_change_taken", to=new_email, new_email=new_email,
                                            reset_url=_url("accounts:password_reset")))
        return
    token = EmailChangeSigner().sign_object({"u": user.pk, "old": user.email, "new": new_email})
    link = _url("accounts:email_confirm", token=token)
    transaction.on_commit(lambda: _send(user, "email_change", to=new_email, new_email=new_email, confirm_url=link,
                                        hours=EMAIL_CHANGE_MAX_AGE // 3600))


def account_email_change_pending(*, user, token: str) -> str | None:
    """The new address a change link is for, if it is this account's, signed by the shop, not expired, not used
    (the account's address is still the one it was asked from) and not meanwhile another account's; else None."""
    try:
        asked = EmailChangeSigner().unsign_object(token, max_age=EMAIL_CHANGE_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(asked, dict) or asked.get("u") != user.pk or asked.get("old") != user.email:
        return None
    new_email = asked.get("new")
    if not isinstance(new_email, str) or not new_email or _taken(new_email, user):
        return None
    return new_email


def account_email_change_confirm(*, user, token: str) -> tuple[str, list[str]] | None:
    """The shopper opened the link while signed in as the account it was made for: the address changes, the old
    one gets a notice (if it was not them, they know), and orders placed as a guest with the new address — now
    confirmed as theirs — join the account. Returns (the new address, messages), or None for a link that is not
    good (account_email_change_pending)."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)  # two tabs confirming: one change
        new_email = account_email_change_pending(user=user, token=token)
        if new_email is None:
            return None
        old_email, user.email = user.email, new_email  # (checked by the form when asked, and signed since)
        user.save(update_fields=["email"])
        _confirm_address(user_id=user.pk, email=new_email)
        claimed = order_services.order_claim_guest_orders(user_id=user.pk, email=new_email)
        if old_email:
            transaction.on_commit(lambda: _send(user, "email_changed", to=old_email, old_email=old_email,
                                                new_email=new_email, reset_url=_url("accounts:password_reset")))
    notes = [f"{claimed} earlier order{'s' if claimed != 1 else ''} placed with {new_email} "
             f"{'are' if claimed != 1 else 'is'} now in your order history."] if claimed else []
    return new_email, notes


def account_password_reset(*, email: str) -> None:
    """Someone asked to reset the password of ``email``'s account: one outbox row, account or not; the e-mail goes
    out from the worker (account_send_password_reset)."""
    with transaction.atomic():
        outbox.publish(RESET_ASKED, {"email": email})


def account_send_password_reset(payload: dict) -> None:
    """Outbox subscriber: Django's reset e-mail to each active account with the address (none: nothing is sent),
    its link on STORE_URL. Delivered at least once: a second e-mail holds a link as good as the first."""
    form = PasswordResetForm({"email": payload["email"]})
    if form.is_valid():
        url = urlsplit(settings.STORE_URL)
        form.save(domain_override=url.netloc, use_https=url.scheme == "https")
