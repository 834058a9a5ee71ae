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


class PersonShown(BaseModel):
    """Who a person is, as an audited read shows it: masked ID, name, phone, birth date, sex."""

    id: int
    id_masked: str
    name: str
    phone: str | None
    birth_date: date | None
    sex: str | None


class PersonRead(PersonShown):
    residence_district_code: str
    residence_building_code: str | None
    current_district_code: str
    current_building_code: str | None
    created_at: datetime
    merged_into: int | None = Field(
        default=None, description="The person this record was merged into (a duplicate)."
    )
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


class DuplicatePerson(PersonShown):
    """One side of a possible duplicate, shown in full to compare (an audited read)."""

    residence_district_code: str
    current_district_code: str
    merged_into: int | None = None


class DuplicatePairRead(BaseModel):
    id: int
    reason: str = Field(description="name_birth, phone_birth or name_birth+phone_birth")
    status: str = Field(description="open, merged, dismissed or superseded")
    found_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    survivor_id: int | None
    note: str | None
    first: DuplicatePerson
    second: DuplicatePerson


class DuplicateFindReport(BaseModel):
    proposed: int = Field(description="New pairs proposed by this run.")
    open: int = Field(description="Pairs in your jurisdiction waiting for a decision.")


class DuplicateDismiss(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class DuplicateMerge(BaseModel):
    survivor_id: int = Field(description="The person kept: one of the pair's two.")


class MergeReport(BaseModel):
    pair_id: int
    survivor_id: int
    merged_id: int
    moved: dict[str, int] = Field(description="Rows moved to the survivor, by table.")
