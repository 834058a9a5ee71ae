"""Pydantic shapes of persons. Reads carry decrypted name and phone only after an audited read."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class PersonCreate(BaseModel):
    national_id: str = Field(min_length=15, max_length=20)
    name: str = Field(min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    residence_building_code: str | None = None
    residence_district_code: str | None = None
    current_building_code: str | None = None
    current_district_code: str | None = None


class PersonRead(BaseModel):
    id: int
    id_masked: str
    name: str
    phone: str | None
    birth_date: date | None
    sex: str | None
    residence_district_code: str
    residence_building_code: str | None
    current_district_code: str
    current_building_code: str | None
    created_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="Accepted, but worth a look (e.g. the ID's region code)."
    )


class PersonSummary(BaseModel):
    """A list row: masked ID and places, no name or phone."""

    id: int
    id_masked: str
    residence_district_code: str
    current_district_code: str


class PersonImportReport(BaseModel):
    rows_read: int
    rows_valid: int
    rows_rejected: int
    inserted: int
    already_present: int
    rejects_file: str | None = None
    rows_warned: int = 0
    warnings: list[str] = Field(
        default_factory=list, description="The first 200 rows accepted with a warning."
    )
