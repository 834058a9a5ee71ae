"""Pydantic shapes of the bulletin in the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

BulletinSource = Literal["official", "aggregates", "facts"]


class CountGroupRead(BaseModel):
    """Districts that reported the same count, in the bulletin's collation order."""

    count: int
    district_codes: list[str]
    names: list[str]  # in the bulletin's language


class BulletinRead(BaseModel):
    day: date
    lang: Literal["zh-Hans", "zh-Hant", "en"]
    start: datetime  # local time of the configured zone
    end: datetime
    whole_day: bool
    source: BulletinSource
    text: str
    new_confirmed: int
    new_asymptomatic: int
    conversions: int
    found_under_control: int | None
    found_on_surface: int | None
    confirmed_groups: list[CountGroupRead]
    asymptomatic_groups: list[CountGroupRead]
