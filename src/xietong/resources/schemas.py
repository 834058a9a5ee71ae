"""Pydantic shapes of resources in and out of the API: capacity reports, facilities and
laboratories."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

FacilityKind = Literal["centralised_quarantine", "makeshift_hospital", "home_isolation"]
ResourceKind = Literal[
    "centralised_quarantine", "makeshift_hospital", "home_isolation", "laboratory"
]


class _Days(BaseModel):
    first_day: date | None = None
    last_day: date | None = None

    @model_validator(mode="after")
    def _in_order(self) -> _Days:
        if self.last_day is not None and self.first_day is None:
            raise ValueError("last_day needs a first_day")
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


# --- capacity ------------------------------------------------------------------------------------


class CapacityReportIn(_Days):
    """One facility's beds or one laboratory's tubes per day, from a day (or for some days).

    Without days: the new standing capacity. With days: the capacity on those days only (an
    availability window; 0 closes the place); an open-ended window runs from `first_day` on.
    A code not seen before registers the place (its name is then needed).
    """

    district_code: str = Field(min_length=1, max_length=16)
    code: str = Field(min_length=1, max_length=40)
    kind: ResourceKind
    name: str | None = Field(default=None, max_length=128)
    capacity: int = Field(ge=0, le=10_000_000)
    note: str | None = Field(default=None, max_length=500)


class CapacityReportBatch(BaseModel):
    reports: list[CapacityReportIn] = Field(min_length=1, max_length=5000)


class CapacityReportRead(BaseModel):
    id: int
    code: str
    kind: ResourceKind
    district_code: str
    capacity: int
    previous_capacity: int | None
    first_day: date | None
    last_day: date | None
    note: str | None
    source: str
    reported_by: str
    created_at: datetime


class CapacityImportReport(BaseModel):
    rows_read: int
    rows_rejected: int
    reports_added: int
    facilities_added: int
    laboratories_added: int


class FacilityRead(BaseModel):
    code: str
    name: str
    kind: FacilityKind
    district_code: str
    beds: int
    available_from: date | None
    available_to: date | None
    active: bool
    beds_on_day: int
    day: date


class LaboratoryRead(BaseModel):
    code: str
    name: str
    district_code: str
    tubes_per_day: int
    active: bool
    tubes_on_day: int
    day: date
