"""National ID numbers: GB 11643 checksum, masking, and what the number tells."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xietong.people import identity
from xietong.people.synthetic import SYNTHETIC_REGION, is_synthetic, synthetic_national_id

# GB 11643-1999 Annex A worked example: 11010519491231002 → check character X.
STANDARD_EXAMPLE = "11010519491231002X"


def test_the_standards_worked_example_validates() -> None:
    parsed = identity.parse(STANDARD_EXAMPLE)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"  # sequence 002: even


def test_a_wrong_check_character_is_refused_with_the_reason() -> None:
    with pytest.raises(identity.InvalidNationalId, match="checksum"):
        identity.parse("110105194912310021")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100XX", "first 17"),
        ("11010519491331002X", "not a date"),
        ("11010519491231002Y", "check character"),
    ],
)
def test_malformed_numbers_say_which_rule_failed(number: str, reason: str) -> None:
    with pytest.raises(identity.InvalidNationalId, match=reason):
        identity.parse(number)


def test_lower_case_x_and_spaces_are_the_same_number() -> None:
    assert identity.parse(" 11010519491231002x ").number == STANDARD_EXAMPLE


def test_masking_keeps_region_prefix_and_last_four() -> None:
    assert identity.mask("500103199001011234") == "5001**********1234"
    assert identity.mask(STANDARD_EXAMPLE) == "1101**********002X"


@given(
    serial=st.integers(0, 999),
    birth=st.dates(min_value=date(1920, 1, 1), max_value=date(2022, 12, 31)),
)
def test_synthetic_numbers_validate_and_never_use_an_assigned_region(
    serial: int, birth: date
) -> None:
    number = synthetic_national_id(serial=serial, birth=birth)
    parsed = identity.parse(number)
    assert parsed.birth_date == birth
    assert number.startswith(SYNTHETIC_REGION)
    assert is_synthetic(number)
