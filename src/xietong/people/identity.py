"""Resident identity numbers (GB 11643-1999): checksum, masking and what the number tells.

Pure functions: no key, no database. The keyed hash that stores the number lives in
`protection.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# GB 11643-1999 §8.2: weights 2^(17-i) mod 11 and the check character of sum mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


class InvalidNationalId(ValueError):
    """The reason a number is not a valid 18-character resident identity number."""


def check_character(first17: str) -> str:
    """The 18th character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidNationalId("the first 17 characters must be digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise(national_id: str) -> str:
    """Strip spaces and upper-case the check character (x and X are the same number)."""
    return national_id.strip().replace(" ", "").upper()


@dataclass(frozen=True)
class NationalId:
    number: str
    birth_date: date
    sex: str  # "M" or "F", from the parity of the sequence code (GB 11643 §5.3)

    @property
    def masked(self) -> str:
        return mask(self.number)

    @property
    def region_code(self) -> str:
        """The GB/T 2260 code of the place that issued the number (where the person was first
        registered, which need not be where the person lives now)."""
        return self.number[:6]


def parse(national_id: str) -> NationalId:
    """Validate an 18-character number; the error says which rule failed."""
    number = normalise(national_id)
    if len(number) != 18:
        raise InvalidNationalId(f"must be 18 characters, got {len(number)}")
    if not number[:17].isdigit():
        raise InvalidNationalId("the first 17 characters must be digits")
    if number[17] not in "0123456789X":
        raise InvalidNationalId("the check character must be a digit or X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError as exc:
        raise InvalidNationalId(f"the birth date {number[6:14]} is not a date") from exc
    expected = check_character(number[:17])
    if number[17] != expected:
        raise InvalidNationalId("checksum does not match (GB 11643)")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return NationalId(number=number, birth_date=born, sex=sex)


def mask(number: str) -> str:
    """Display form: region prefix and last four kept (`5001**********123X`)."""
    number = normalise(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
