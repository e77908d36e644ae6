"""The one-call random strings keep Django's contract: the alphabet's characters, each equally likely, and Django's
CSRF and session code really uses them."""

import collections
import importlib
import string

import pytest
from django.middleware import csrf
from django.middleware.csrf import CSRF_ALLOWED_CHARS, get_token
from django.test import RequestFactory
from django.utils.crypto import RANDOM_STRING_CHARS

from store.core import fastrandom


@pytest.mark.parametrize("alphabet", [RANDOM_STRING_CHARS, string.digits, "ab", "x", string.printable[:100],
                                      "".join(chr(c) for c in range(129))])
def test_each_character_of_the_alphabet_is_equally_likely(alphabet):
    draws = 2000 * len(alphabet)
    counts = collections.Counter(fastrandom.get_random_string(draws, alphabet))
    assert set(counts) == set(alphabet)
    # chi-squared against the uniform distribution: an even draw exceeds the bound less than once in a million
    # runs; mapping every byte with b % n (not dropping the uneven top) exceeds it several times over for the
    # 62-character alphabet that CSRF tokens use
    expected = draws / len(alphabet)
    chi2 = sum((counts[c] - expected) ** 2 / expected for c in alphabet)
    dof = max(len(alphabet) - 1, 1)
    assert chi2 < dof + 7 * (2 * dof) ** 0.5 + 25


def test_lengths_and_characters():
    for length in (0, 1, 12, 32, 64, 1000):
        value = fastrandom.get_random_string(length)
        assert len(value) == length and set(value) <= set(RANDOM_STRING_CHARS)
    assert len({fastrandom.get_random_string(32) for _ in range(1000)}) == 1000


def test_alphabets_it_cannot_map_go_to_djangos_own():
    value = fastrandom.get_random_string(50, "éü")
    assert len(value) == 50 and set(value) <= {"é", "ü"}
    assert set(fastrandom.get_random_string(20, ["a", "b"])) <= {"a", "b"}


def test_django_csrf_and_sessions_use_it():
    for name in fastrandom.PATCHED_MODULES:
        assert importlib.import_module(name).get_random_string is fastrandom.get_random_string, name
    token = get_token(RequestFactory().get("/"))
    assert len(token) == 64 and set(token) <= set(CSRF_ALLOWED_CHARS)


def test_masked_tokens_are_djangos_own_for_the_same_mask(monkeypatch):
    for _ in range(200):
        secret, mask = (fastrandom.get_random_string(32, CSRF_ALLOWED_CHARS) for _ in range(2))
        monkeypatch.setattr(fastrandom, "get_random_string", lambda *args, _mask=mask: _mask)
        monkeypatch.setattr(csrf, "get_random_string", lambda *args, _mask=mask, **kwargs: _mask)
        token = fastrandom.mask_cipher_secret(secret)
        assert token == fastrandom._django_mask_cipher_secret(secret)
        assert token[:32] == mask and csrf._unmask_cipher_token(token) == secret
        monkeypatch.undo()
    tokens = {fastrandom.mask_cipher_secret("a" * 32) for _ in range(100)}
    assert len(tokens) == 100  # a fresh mask every time (BREACH: no two responses carry the same token)


def test_django_csrf_masks_with_it():
    assert csrf._mask_cipher_secret is fastrandom.mask_cipher_secret
    request = RequestFactory().get("/")
    token = get_token(request)
    assert csrf._unmask_cipher_token(token) == request.META["CSRF_COOKIE"]


@pytest.mark.parametrize("secret", ["a" * 31 + "-", "é" * 32, "abc", ""])
def test_a_secret_it_cannot_add_goes_to_djangos_own(secret):
    try:
        expected = type(None), len(fastrandom._django_mask_cipher_secret(secret))
    except ValueError:
        expected = ValueError, None
    try:
        outcome = type(None), len(fastrandom.mask_cipher_secret(secret))
    except ValueError:
        outcome = ValueError, None
    assert outcome == expected
