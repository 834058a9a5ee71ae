"""Personal fields at rest: keyed hash for IDs, authenticated encryption for names and phones."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidTag

from xietong.config import Settings
from xietong.people.protection import PersonalDataProtector

NUMBER = "11010519491231002X"


def protector(hash_key: bytes = b"k1", enc_key: bytes = b"0" * 32) -> PersonalDataProtector:
    return PersonalDataProtector(id_hash_key=hash_key, encryption_key=enc_key)


def test_encryption_round_trips_names_and_phones() -> None:
    p = protector()
    for plain in ("张三", "13800138000", "Ōno Tarō"):
        assert p.decrypt(p.encrypt(plain)) == plain


def test_the_same_name_encrypts_differently_each_time() -> None:
    p = protector()
    assert p.encrypt("张三") != p.encrypt("张三")


def test_ciphertext_does_not_contain_the_plain_text() -> None:
    assert "张三".encode() not in protector().encrypt("张三")


def test_a_tampered_ciphertext_is_refused() -> None:
    p = protector()
    blob = bytearray(p.encrypt("张三"))
    blob[-1] ^= 1
    with pytest.raises(InvalidTag):
        p.decrypt(bytes(blob))


def test_the_keyed_hash_is_not_the_plain_id_nor_its_plain_hash() -> None:
    import hashlib

    digest = protector().hash_id(NUMBER)
    assert NUMBER.encode() not in digest
    assert digest != hashlib.sha256(NUMBER.encode()).digest()
    assert len(digest) == 32


def test_the_keyed_hash_depends_on_the_key_and_matches_normalised_input() -> None:
    assert protector(b"k1").hash_id(NUMBER) != protector(b"k2").hash_id(NUMBER)
    assert protector().hash_id(NUMBER.lower()) == protector().hash_id(NUMBER)


def test_production_refuses_the_development_keys() -> None:
    with pytest.raises(ValueError, match="ID_HASH_KEY"):
        Settings(environment="production")
    key = base64.urlsafe_b64encode(b"p" * 32).decode()
    with pytest.raises(ValueError, match="at least 32"):
        Settings(environment="production", id_hash_key="a-real-secret", encryption_key=key)
    Settings(environment="production", id_hash_key="a-real-secret-" + "k" * 24, encryption_key=key)
