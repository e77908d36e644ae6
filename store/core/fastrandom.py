"""Django's random strings (CSRF secrets and masks, session keys) drawn from one getrandom() call per string.

`django.utils.crypto.get_random_string` draws each character with `secrets.choice`: one getrandom() system
call and a few Python frames per character, ~2.4 µs each on this project's benchmark machine. Every page with a
form pays for 32 characters (the CSRF token's per-response mask) and a first visit for 32 more (the CSRF
secret): ~150 µs, more than half of what a bare Django view costs to serve. This draws the same characters from
the same source (the operating system's CSPRNG) in one call: bytes are mapped onto the alphabet by
`bytes.translate`, those that would favour the alphabet's first characters (≥ 256 - 256 % len(alphabet)) are
dropped, so every character stays equally likely, exactly as with `secrets.choice`.

The same goes for masking the CSRF secret into a page's token: Django adds the mask to the secret character by
character with two `str.index` calls and a generator step each (~25 µs here); `mask_cipher_secret` adds them all
at once as integers between byte translations (~1 µs): the same token for the same mask.

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
_N = len(_CSRF_CHARS)
# byte tables for bytes.translate: a character's index in the alphabet, and an index sum (0..2n-2) -> the character
_INDEX = bytes(_CSRF_CHARS.index(chr(b)) if chr(b) in _CSRF_CHARS else 0 for b in range(256))
_NOT_IN_ALPHABET = bytes(b for b in range(256) if chr(b) not in _CSRF_CHARS)
_SUM = bytes(ord(_CSRF_CHARS[v % _N]) if v < 2 * _N - 1 else 0 for v in range(256))


def mask_cipher_secret(secret: str) -> str:
    """Same contract as `django.middleware.csrf._mask_cipher_secret`: a fresh random mask, then the secret with
    the mask added (mod 62) character by character — the token Django's `_unmask_cipher_token` turns back into the
    secret. The characters become their alphabet indices (one translate each); the two index strings are added as
    two big integers, which adds them byte by byte since no sum reaches 256 (at most 61 + 61); one more translate
    takes each sum mod 62 back to a character."""
    raw = secret.encode()
    if len(secret) != csrf.CSRF_SECRET_LENGTH or not secret.isascii() or raw.translate(None, _NOT_IN_ALPHABET) != raw:
        return _django_mask_cipher_secret(secret)  # Django's own answer (an error, for a character not in it)
    mask = get_random_string(csrf.CSRF_SECRET_LENGTH, _CSRF_CHARS)
    total = int.from_bytes(raw.translate(_INDEX), "big") + int.from_bytes(mask.encode().translate(_INDEX), "big")
    return mask + total.to_bytes(len(raw), "big").translate(_SUM).decode()


def install() -> None:
    import importlib

    for name in PATCHED_MODULES:
        module = importlib.import_module(name)
        if module.get_random_string is _django_get_random_string:
            module.get_random_string = get_random_string
    if csrf._mask_cipher_secret is _django_mask_cipher_secret:
        csrf._mask_cipher_secret = mask_cipher_secret
