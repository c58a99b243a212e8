"""Encryption at rest for personal fields, and keyed hashes for exact lookup.

Keys come from the environment: ``URBANGOV_ENCRYPTION_KEYS`` (comma-separated Fernet keys,
the first encrypts, all decrypt, so a key can be rotated in) or the file named by
``URBANGOV_ENCRYPTION_KEYS_FILE``. Without either, a key is derived from ``SECRET_KEY`` —
good enough for a demo, not for a city: set real keys in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def _derive(label: str) -> bytes:
    return hashlib.sha256(f"urbangov:{label}:{settings.SECRET_KEY}".encode()).digest()


def configured_keys() -> list[str]:
    raw = os.environ.get("URBANGOV_ENCRYPTION_KEYS", "")
    path = os.environ.get("URBANGOV_ENCRYPTION_KEYS_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                raw = fh.read()
        except OSError as exc:
            raise ImproperlyConfigured(f"URBANGOV_ENCRYPTION_KEYS_FILE: {exc}") from exc
    keys = [k.strip() for k in raw.replace("\n", ",").split(",") if k.strip()]
    if not keys:
        keys = [base64.urlsafe_b64encode(_derive("fernet")).decode()]
    return keys


def key_problems(keys: list[str]) -> list[str]:
    """What is wrong with each configured key, by position (never the key itself)."""
    problems = []
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError, UnicodeError):
            problems.append(
                f"URBANGOV_ENCRYPTION_KEYS: key {number} of {len(keys)} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `urbangov keys generate`)"
            )
    return problems


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    problems = key_problems(list(keys))
    if problems:
        raise ImproperlyConfigured("; ".join(problems))
    return MultiFernet([Fernet(k.encode()) for k in keys])


def key_index(token: str) -> int | None:
    """Which configured key (0: the newest) decrypts ``token``; None if none does."""
    for index, key in enumerate(configured_keys()):
        try:
            Fernet(key.encode()).decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeError, ValueError):
            continue
        return index
    return None


def reencrypt(token: str) -> str:
    """``token`` encrypted again under the newest key (DecryptionError if no key opens it)."""
    if token == "":
        return ""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("stored value cannot be decrypted with the configured keys") from exc


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def fernet() -> MultiFernet:
    return _fernet(tuple(configured_keys()))


def encrypt(value: str) -> str:
    if value == "":
        return ""
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("stored value cannot be decrypted with the configured keys") from exc


def normalise_for_lookup(value: str) -> str:
    """Fold a contact value so that '138 0013-8000' and '13800138000' hash alike."""
    folded = unicodedata.normalize("NFKC", value).strip().lower()
    return "".join(ch for ch in folded if ch not in " -()")


def lookup_key() -> bytes:
    return os.environ.get("URBANGOV_LOOKUP_KEY", "").encode() or _derive("lookup")


def derived_key(label: str) -> bytes:
    """A key for one purpose (``label``), derived from SECRET_KEY: for keys that protect
    nothing stored (the open-data noise), so rotating SECRET_KEY costs only a change."""
    return _derive(label)


def keyed_hash(value: str) -> str:
    """A keyed hash for exact lookup of an encrypted value without decrypting every row."""
    if not value:
        return ""
    key = lookup_key()
    return hmac.new(key, normalise_for_lookup(value).encode("utf-8"), hashlib.sha256).hexdigest()
