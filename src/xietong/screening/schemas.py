"""Pydantic shapes of the screening domain: batches in, reports, plans, coverage and tasks out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from xietong.policy.rules import MAX_POOL_SIZE

TubeKind = Literal["screening", "retest", "resample"]
Outcome = Literal["negative", "positive", "invalid"]


class SiteCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=128)
    district_code: str
    building_code: str | None = None


class SiteRead(BaseModel):
    id: int
    code: str
    name: str
    district_code: str
    building_code: str | None


class TubeIn(BaseModel):
    """A tube and the persons whose swabs went into it (by person id or national ID)."""

    tube_code: str = Field(min_length=1, max_length=40)
    site_code: str = Field(min_length=1, max_length=40)
    collected_at: datetime
    pool_size: int = Field(ge=1, le=MAX_POOL_SIZE)
    kind: TubeKind = "screening"
    building_code: str | None = None
    replaces_tube_code: str | None = None
    person_ids: list[int] = Field(default_factory=list, max_length=MAX_POOL_SIZE * 2)
    national_ids: list[str] = Field(default_factory=list, max_length=MAX_POOL_SIZE * 2)


class TubeBatch(BaseModel):
    tubes: list[TubeIn] = Field(min_length=1, max_length=50_000)


class TubeBatchReport(BaseModel):
    rows_read: int
    tubes_added: int
    members_added: int
    members_already_present: int
    rows_rejected: int
    resample_tasks_done: int = 0
    rejects_file: str | None = None


class LabResultIn(BaseModel):
    tube_code: str = Field(min_length=1, max_length=40)
    result: str = Field(description="negative, positive or invalid (阴性/阳性/无效)")
    ct_value: float | None = None
    lab: str = Field(min_length=1, max_length=40, description="the laboratory's code")
    reported_at: datetime


class LabResultBatch(BaseModel):
    results: list[LabResultIn] = Field(min_length=1, max_length=200_000)


class ResultBatchReport(BaseModel):
    batch_id: int
    rows_read: int
    applied: int = Field(description="results that became a tube's result of record")
    unchanged: int = Field(description="the same result again: nothing changed")
    conflicts: int = Field(description="a different second result, kept for a person to decide")
    rows_rejected: int
    negative: int = 0
    positive: int = 0
    pooled_positive: int = 0
    invalid: int = 0
    holds: int = 0
    retests: int = 0
    retests_done: int = 0
    holds_released: int = 0
    case_candidates: int = 0
    referral_needs: int = 0
    resample_tasks: int = 0
    rejects_file: str | None = None


class ResultRecordRead(BaseModel):
    """A tube's result of record with its tube, for exports."""

    id: int
    tube_code: str
    district_code: str
    member_count: int
    outcome: Outcome
    ct_value: float | None
    lab: str
    reported_at: datetime
    collected_at: datetime
    updated_at: datetime


class ResultView(BaseModel):
    outcome: Outcome
    ct_value: float | None
    lab: str
    reported_at: datetime


class TubeRead(BaseModel):
    code: str
    site_code: str
    district_code: str
    kind: TubeKind
    pool_size: int
    member_count: int
    collected_at: datetime
    round_day: date
    result: ResultView | None


class ConflictRead(BaseModel):
    id: int
    tube_code: str
    district_code: str
    current: ResultView
    reported: ResultView
    status: Literal["open", "kept", "replaced"]
    created_at: datetime
    resolved_by: str | None
    resolved_at: datetime | None
    note: str | None


class ConflictResolve(BaseModel):
    keep: Literal["current", "reported"] = Field(
        description="current: the result of record stays; reported: the conflicting one replaces it"
    )
    note: str = Field(min_length=1, max_length=2000, description="why (shown in the audit trail)")


class ConflictResolution(BaseModel):
    conflict: ConflictRead
    holds_released: int = 0
    tasks_cancelled: int = 0
    withdrawn: int = 0
    already_acted_on: int = Field(
        default=0, description="case candidates or referral needs already consumed elsewhere"
    )
    effects: ResultBatchReport | None = None


class ResampleTaskRead(BaseModel):
    id: int
    tube_code: str
    district_code: str
    site_code: str
    member_count: int
    status: Literal["open", "done", "cancelled"]
    replacement_tube_code: str | None
    created_at: datetime


class RetestTaskRead(BaseModel):
    id: int
    person_id: int
    district_code: str
    source_tube_code: str
    status: Literal["open", "done", "cancelled"]
    outcome: Outcome | None
    created_at: datetime


class PlanDistrictRead(BaseModel):
    district_code: str
    buildings: int
    persons: int
    tubes: int
    by_status: dict[str, int]


class PlanBuildingRead(BaseModel):
    building_code: str
    district_code: str
    status: str
    reason: str
    pool_size: int
    persons: int


class PlanRead(BaseModel):
    day: date
    issued: bool
    policy_version: str
    mode: str
    high_risk_buildings: int
    issued_at: datetime | None
    districts: list[PlanDistrictRead]
    buildings: list[PlanBuildingRead]
    buildings_total: int


class CoverageRow(BaseModel):
    area_code: str
    area_level: Literal["district", "building"]
    planned: int = Field(description="persons due by the plan")
    sampled: int = Field(description="swabs taken (by sampling place)")
    resulted: int = Field(description="swabs whose tube has a result")
    missed: int = Field(description="persons due by the plan with no sample that round")
    tubes: int
    tubes_resulted: int
    tubes_positive: int
    positivity: float | None = Field(description="positive tubes ÷ resulted tubes")


class CoverageRead(BaseModel):
    day: date
    plan_issued: bool
    rows: list[CoverageRow]


class CaseCandidateRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    person_id: int
    tube_id: int
    lab_result_id: int
    sampled_at: datetime
    detected_at: datetime
    sampling_district_id: int
    sampling_building_id: int | None


class ReferralNeedRead(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    person_id: int
    reason: Literal["pooled_positive", "positive"]
    tube_id: int
    from_district_id: int
    to_district_id: int
    created_at: datetime


class ResultBatchRead(BaseModel):
    id: int
    source: str
    submitted_by: str
    received_at: datetime
    rows_read: int
    applied: int
    unchanged: int
    conflicts: int
    rejected: int
    rejects_kept: bool = Field(description="the rejected rows can be downloaded")
