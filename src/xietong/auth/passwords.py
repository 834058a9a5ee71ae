"""Passwords: argon2id hashes (argon2-cffi, RFC 9106 parameters, within OWASP's guidance), the
verification of older scrypt hashes so they can be upgraded at the next login, and the policy a
new password must meet."""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from xietong.core.errors import RowError, ValidationFailed

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, t=3, m=64 MiB, p=4),
# above OWASP's minimum (m=19 MiB, t=2, p=1).
_hasher = PasswordHasher()
# Compared against when the user is unknown, so that an unknown name costs the same work.
_DUMMY_HASH = _hasher.hash("xietong: no such user")

MIN_LENGTH_PRODUCTION = 12
MIN_LENGTH_DEVELOPMENT = 8
# Passwords anyone can read in this repository or guess first.
_KNOWN = frozenset({"xietong-demo", "password", "password123", "123456789012", "qwertyuiopas"})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; a missing hash costs the same work and fails."""
    if stored is None:
        _verify_argon2(password, _DUMMY_HASH)
        return False
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    return _verify_argon2(password, stored)


def _verify_argon2(password: str, stored: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced by one with today's parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def check_policy(password: str, *, username: str, production: bool) -> None:
    """Refuse a password too short, equal to the user name or publicly known (in production)."""
    minimum = MIN_LENGTH_PRODUCTION if production else MIN_LENGTH_DEVELOPMENT
    reason = None
    if len(password) < minimum:
        reason = f"must be at least {minimum} characters"
    elif password.lower() == username.lower():
        reason = "must differ from the user name"
    elif production and (password.lower() in _KNOWN or len(set(password)) < 4):
        reason = "is too easy to guess"
    if reason is not None:
        raise ValidationFailed(
            errors=[RowError(record=f"user {username}", field="password", reason=reason)],
            summary="password refused",
        )
