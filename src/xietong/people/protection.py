"""Personal data at rest: a keyed hash for matching national IDs, AES-256-GCM for names and phones.

The hash is HMAC-SHA256 under a deployment key, so a leaked table cannot be reversed by hashing
all possible numbers. Ciphertexts carry a key-version byte and a random 96-bit nonce.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from xietong.config import Settings
from xietong.people.identity import normalise

_KEY_VERSION = b"\x01"


class PersonalDataProtector:
    """Hashes and encrypts the personal fields of a person record."""

    def __init__(self, *, id_hash_key: bytes, encryption_key: bytes) -> None:
        if len(encryption_key) != 32:
            raise ValueError("encryption_key: must be 32 bytes for AES-256-GCM")
        self._hash_key = id_hash_key
        self._encryption_key = encryption_key
        self._aead = AESGCM(encryption_key)

    def __reduce__(
        self,
    ) -> tuple[Callable[[bytes, bytes], PersonalDataProtector], tuple[bytes, bytes]]:
        # Worker processes of a bulk import get the keys through their own pipe from the caller,
        # who holds them anyway; the cipher object itself cannot be pickled.
        return _rebuild, (self._hash_key, self._encryption_key)

    @classmethod
    def from_settings(cls, settings: Settings) -> PersonalDataProtector:
        return cls(
            id_hash_key=settings.id_hash_key.get_secret_value().encode(),
            encryption_key=base64.urlsafe_b64decode(
                settings.encryption_key.get_secret_value().encode()
            ),
        )

    def hash_id(self, national_id: str) -> bytes:
        return hmac.new(self._hash_key, normalise(national_id).encode(), hashlib.sha256).digest()

    def hash_name(self, name: str) -> bytes | None:
        """The keyed hash of a name, for finding possible duplicates without decrypting: width,
        case and spaces do not count (`王 芳` is `王芳`, `LI Na` is `li na`)."""
        return self._hash_field(b"name", normalise_name(name))

    def hash_phone(self, phone: str | None) -> bytes | None:
        """The keyed hash of a phone number's digits (a +86 or 0086 prefix dropped)."""
        return None if phone is None else self._hash_field(b"phone", normalise_phone(phone))

    def hash_phone_tail(self, phone: str | None) -> bytes | None:
        """The keyed hash of a phone number's last four digits, what a caller reads out to find
        a person; a number of fewer digits has none. `hash_phone_tail("1234")` is what a search
        for "1234" compares with."""
        digits = None if phone is None else normalise_phone(phone)
        if not digits or len(digits) < 4:
            return None
        return self._hash_field(b"phone-tail", digits[-4:])

    def _hash_field(self, field: bytes, value: str) -> bytes | None:
        # The field's name is hashed in front of the value, so that a name and a phone number
        # (or an ID) written alike never hash alike.
        if not value:
            return None
        return hmac.new(self._hash_key, field + b"\x00" + value.encode(), hashlib.sha256).digest()

    def encrypt(self, plain: str) -> bytes:
        nonce = os.urandom(12)
        return _KEY_VERSION + nonce + self._aead.encrypt(nonce, plain.encode(), None)

    def decrypt(self, blob: bytes) -> str:
        if blob[:1] != _KEY_VERSION:
            raise ValueError("unknown key version of an encrypted field")
        return self._aead.decrypt(blob[1:13], blob[13:], None).decode()

    def encrypt_optional(self, plain: str | None) -> bytes | None:
        return None if plain is None or plain == "" else self.encrypt(plain)

    def decrypt_optional(self, blob: bytes | None) -> str | None:
        return None if blob is None else self.decrypt(blob)


def normalise_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def normalise_phone(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def _rebuild(id_hash_key: bytes, encryption_key: bytes) -> PersonalDataProtector:
    return PersonalDataProtector(id_hash_key=id_hash_key, encryption_key=encryption_key)
