"""Django's random strings (CSRF secrets and masks, session keys) drawn from one getrandom() call per string.

`django.utils.crypto.get_random_string` draws each character with `secrets.choice`: one getrandom() system
call and a few Python frames per character, ~2.4 µs each on this project's benchmark machine. Every page with a
form pays for 32 characters (the CSRF token's per-response mask) and a first visit for 32 more (the CSRF
secret): ~150 µs, more than half of what a bare Django view costs to serve. This draws the same characters from
the same source (the operating system's CSPRNG) in one call: bytes are mapped onto the alphabet by
`bytes.translate`, those that would favour the alphabet's first characters (≥ 256 - 256 % len(alphabet)) are
dropped, so every character stays equally likely, exactly as with `secrets.choice`.

The same goes for masking the CSRF secret into a page's token: Django adds the mask to the secret character by
character with two `str.index` calls and a generator step each (~25 µs here); `mask_cipher_secret` looks each
(secret, mask) pair up in a table of the 62 × 62 sums: the same token for the same mask, in one C-level pass.

`install()` (from the core app's ready()) puts them where Django looks the functions up; alphabets this cannot map
(not ASCII, or longer than 256 characters) go to Django's own implementation. tests/core/test_fastrandom.py
checks the distribution, that the masked tokens are Django's own for the same mask, and that Django's CSRF and
session modules use them.
"""

from __future__ import annotations

import functools
import os

from django.middleware import csrf
from django.utils import crypto

_django_get_random_string = crypto.get_random_string
_django_mask_cipher_secret = csrf._mask_cipher_secret
# the modules that imported get_random_string by name (a Django upgrade that moves one is caught by the tests)
PATCHED_MODULES = ("django.utils.crypto", "django.middleware.csrf", "django.contrib.sessions.backends.base")


@functools.lru_cache(maxsize=32)
def _translation(allowed_chars: str) -> tuple[bytes, bytes] | None:
    """(table, bytes to delete) mapping a uniformly random byte onto a uniformly random character, or None."""
    n = len(allowed_chars)
    if not 1 <= n <= 256 or not allowed_chars.isascii():
        return None
    limit = 256 - 256 % n  # bytes below this fall evenly on the n characters
    table = bytes(ord(allowed_chars[b % n]) if b < limit else 0 for b in range(256))
    return table, bytes(range(limit, 256))


def get_random_string(length: int, allowed_chars: str = crypto.RANDOM_STRING_CHARS) -> str:
    """Same contract as `django.utils.crypto.get_random_string`: ``length`` characters, each drawn uniformly
    from ``allowed_chars`` by the operating system's CSPRNG."""
    translation = _translation(allowed_chars) if isinstance(allowed_chars, str) else None
    if translation is None:
        return _django_get_random_string(length, allowed_chars)
    table, rejected = translation
    out = b""
    while len(out) < length:  # at most 1/2 of bytes are dropped (n = 129); for Django's 62 characters, 1/32
        out += os.urandom(length + length // 2 + 8).translate(table, rejected)
    return out[:length].decode("ascii")


_CSRF_CHARS = csrf.CSRF_ALLOWED_CHARS
# (secret character, mask character) -> the token's character: Django's (index + index) % 62, all worked out once
_SUMS = {(a, b): _CSRF_CHARS[(i + j) % len(_CSRF_CHARS)]
         for i, a in enumerate(_CSRF_CHARS) for j, b in enumerate(_CSRF_CHARS)}


def mask_cipher_secret(secret: str) -> str:
    """Same contract as `django.middleware.csrf._mask_cipher_secret`: a fresh random mask, then the secret with
    the mask added (mod 62) character by character — the token Django's `_unmask_cipher_token` turns back into the
    secret."""
    mask = get_random_string(csrf.CSRF_SECRET_LENGTH, _CSRF_CHARS)
    return mask + "".join(map(_SUMS.__getitem__, zip(secret, mask, strict=True)))


def install() -> None:
    import importlib

    for name in PATCHED_MODULES:
        module = importlib.import_module(name)
        if module.get_random_string is _django_get_random_string:
            module.get_random_string = get_random_string
    if csrf._mask_cipher_secret is _django_mask_cipher_secret:
        csrf._mask_cipher_secret = mask_cipher_secret
