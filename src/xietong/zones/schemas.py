"""Shapes of risk areas in and out of the API: the command team's view, the public list, the
risk status of a building or a person, the daily evaluation and the what-if."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from xietong.policy.rules import AreaScreeningStatus, ScreeningMode

RiskLevel = Literal["high", "low"]
ScreeningAvailability = Literal["screening", "given", "unavailable", "not_required"]


class RiskAreaRequest(BaseModel):
    """A proposal or a direct designation: one building, with the reason."""

    model_config = ConfigDict(extra="forbid")

    building_code: str | None = Field(default=None, max_length=40)
    reason: str = Field(min_length=1, max_length=2000)
    # Accepted only to be refused with a clear answer: an area is never wider than a building.
    community_code: str | None = None
    street_code: str | None = None


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class Refusal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class RiskAreaEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: str
    at: datetime
    day: date
    username: str
    policy_version: str
    reason: str | None
    detail: dict[str, Any] | None


class RiskAreaRead(BaseModel):
    id: int
    building_code: str
    address_label: str
    district_code: str
    level: str
    status: str
    origin: str
    reason: str
    policy_version: str
    source_case_id: int | None
    proposed_at: datetime
    proposed_by: str
    decided_at: datetime | None
    decided_by: str | None
    active_from: date | None
    countdown_from: date | None
    lifting_proposed_at: datetime | None
    lifting_proposed_by: str | None
    lifted_at: datetime | None
    lifted_by: str | None
    lifted_on: date | None


class RiskAreaDetail(RiskAreaRead):
    """One area with every step of its life and, while locked, its countdown."""

    events: list[RiskAreaEventRead]
    clean_days_so_far: int | None = None
    earliest_lifting_on: date | None = None


class PublicRiskArea(BaseModel):
    """One line of the public list: where, since when, and the earliest day it can be lifted."""

    district_code: str
    district_name: str
    address_label: str
    designated_on: date
    earliest_lifting_on: date


class PublicRiskAreaPage(BaseModel):
    as_of: date
    policy_version: str
    lift_after_clean_days: int
    items: list[PublicRiskArea]
    total: int
    limit: int
    offset: int


class ScreeningFrequency(BaseModel):
    """How often the people of a building are screened under the policy of the day."""

    mode: ScreeningMode
    status: AreaScreeningStatus
    every_days: int | None
    single_tube: bool


class BuildingRiskStatus(BaseModel):
    building_code: str
    address_label: str
    district_code: str
    risk_level: RiskLevel
    area_id: int | None
    area_status: str | None
    designated_on: date | None
    earliest_lifting_on: date | None
    last_infection_on: date | None
    screening: ScreeningFrequency


class PersonRiskStatus(BaseModel):
    """The risk status of where a person lives and where the person stays now."""

    person_id: int
    as_of: date
    policy_version: str
    in_high_risk_area: bool
    residence: BuildingRiskStatus | None
    current: BuildingRiskStatus | None


class ResidentRead(BaseModel):
    """A resident of a locked building: masked ID only, no name or phone."""

    id: int
    id_masked: str
    current_district_code: str


class EvaluationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: date


class EvaluationReport(BaseModel):
    """What the daily evaluation did: which areas it proposed for lifting, under which policy."""

    day: date
    policy_version: str
    lift_after_clean_days: int
    requires_negative_screening: bool
    screening: ScreeningAvailability
    areas_evaluated: int
    liftings_proposed: list[int]


class LockEpisode(BaseModel):
    locked_on: date
    lifted_on: date | None  # None: still locked at the end of the period
    locked_days: int  # inside the period


class BuildingComparison(BaseModel):
    building_code: str
    address_label: str
    district_code: str
    residents: int
    actual: list[LockEpisode]
    what_if: list[LockEpisode]


class LockTotals(BaseModel):
    areas_locked: int  # lock episodes that began inside the period
    areas_lifted: int  # lock episodes that ended inside the period
    building_days: int
    person_days: int


class WhatIfRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy_text: str = Field(min_length=1)
    first_day: date
    last_day: date
    district_code: str | None = None


class WhatIfReport(BaseModel):
    first_day: date
    last_day: date
    policy_version: str
    actual_policy_versions: list[str]
    screening: ScreeningAvailability
    actual: LockTotals
    what_if: LockTotals
    buildings: list[BuildingComparison]
