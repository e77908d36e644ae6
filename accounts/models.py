"""What accounts keep about a shopper beyond django.contrib.auth's user: the address they confirmed."""

from django.db import models


class AccountProfile(models.Model):
    """One per account that has confirmed an address. ``verified_email`` is the address a link sent to it was
    opened for (the sign-up's activation, an e-mail change); an account whose address was set any other way (by
    staff in the admin, a script) no longer has it equal, and its guest orders do not follow it at log-in."""

    user_id = models.BigIntegerField(unique=True)  # the account, by id (auth is not ours)
    verified_email = models.EmailField(blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"account {self.user_id}: {self.verified_email or 'no address confirmed'}"
