"""Synthetic national ID numbers for demos and tests, never a real person's.

They use the region code 500199, which GB/T 2260 does not assign (Chongqing's district codes end
at 500156 and its counties start at 500229), so no real number can collide; the check character is
computed by GB 11643 so that validation accepts them.
"""

from __future__ import annotations

from datetime import date

from xietong.people.identity import check_character

SYNTHETIC_REGION = "500199"


def synthetic_national_id(*, serial: int, birth: date) -> str:
    """The `serial`-th synthetic number for a birth date (serial 0–999 per date)."""
    if not 0 <= serial <= 999:
        raise ValueError(f"serial: must be 0..999 (got {serial})")
    first17 = f"{SYNTHETIC_REGION}{birth:%Y%m%d}{serial:03d}"
    return first17 + check_character(first17)


def is_synthetic(national_id: str) -> bool:
    return national_id.startswith(SYNTHETIC_REGION)
