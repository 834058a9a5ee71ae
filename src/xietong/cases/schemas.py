"""Pydantic shapes of cases, clusters, links and chains, contacts and quarantine orders.

Case and chain reads carry no name or phone: a person's record is read through the people routes
(scoped and audited). Only a contact not yet identified shows the name and phone it was given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Classification = Literal["confirmed", "asymptomatic"]
PlaceRole = Literal["workplace", "venue", "visited"]
ExposureKind = Literal["household", "workplace", "venue", "transport", "care", "other"]
EvidenceKind = Literal["household", "workplace", "venue", "contact_tracing", "genomic", "other"]
ClusterFilter = Literal["proposed", "confirmed", "rejected", "active", "closed"]


class CaseCreate(BaseModel):
    """A case registered by a field worker (screening positives arrive as case candidates)."""

    person_id: int
    classification: Classification
    detected_at: AwareDatetime
    onset_day: date | None = None
    # The district reporting the case; a district user always reports in its own district.
    report_district_code: str | None = None
    # The building where the person was found, when not at home.
    found_building_code: str | None = None
    note: str | None = Field(default=None, max_length=2000)


class CaseRead(BaseModel):
    id: int
    person_id: int
    classification: Classification
    initial_classification: Classification
    source: str
    detected_at: datetime
    report_day: date
    onset_day: date | None
    report_district_code: str
    residence_district_code: str
    residence_building_code: str | None
    found_building_code: str | None
    found_under_control: bool
    control_reason: str | None
    converted_at: datetime | None
    conversion_day: date | None
    policy_version: str
    note: str | None
    created_at: datetime


class Reclassify(BaseModel):
    classification: Classification
    at: AwareDatetime | None = None


class PlaceCreate(BaseModel):
    building_code: str
    role: PlaceRole
    visited_on: date | None = None


class PlaceRead(BaseModel):
    building_code: str
    district_code: str
    role: str
    day: date


class ClusterMemberRead(BaseModel):
    case_id: int
    status: str
    place_role: str
    day: date


class ClusterRead(BaseModel):
    id: int
    building_code: str
    district_code: str
    place_kind: str
    status: str
    active: bool
    first_case_day: date
    last_case_day: date
    closes_on: date
    closed_on: date | None
    cases: int
    members: list[ClusterMemberRead]


class ClusterDecision(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class LinkCreate(BaseModel):
    source_case_id: int
    target_case_id: int
    evidence_kind: EvidenceKind
    evidence: str = Field(min_length=1, max_length=4000)


class LinkProposalRead(BaseModel):
    """A link waiting for the other case's district; the proposer does not see that district."""

    id: int
    source_case_id: int
    target_case_id: int
    evidence_kind: str
    evidence: str
    from_district_code: str | None
    to_district_code: str | None
    status: Literal["proposed", "confirmed", "rejected"]
    proposed_by: str
    created_at: datetime
    decided_at: datetime | None
    link_id: int | None


class LinkRead(BaseModel):
    id: int
    source_case_id: int
    target_case_id: int
    evidence_kind: str
    evidence: str
    from_district_code: str
    to_district_code: str
    day: date
    spillover: bool
    created_by: str
    created_at: datetime


class ChainNodeRead(BaseModel):
    case_id: int
    district_code: str
    classification: str
    report_day: date
    found_under_control: bool
    generation: int


class ChainEdgeRead(BaseModel):
    source: int
    target: int
    from_district_code: str
    to_district_code: str
    day: date
    evidence_kind: str
    spillover: bool


class SpilloverRead(BaseModel):
    day: date
    from_district_code: str
    to_district_code: str
    links: int


class ChainSummary(BaseModel):
    chain_id: int
    cases: int
    districts: list[str]
    spillover_links: int
    first_report_day: date
    last_report_day: date


class ChainRead(ChainSummary):
    """A chain for the dashboard: nodes and edges, with its counts."""

    confirmed: int
    asymptomatic: int
    found_on_surface: int
    generations: int
    spillovers: list[SpilloverRead]
    nodes: list[ChainNodeRead]
    edges: list[ChainEdgeRead]


class ContactCreate(BaseModel):
    """A close contact: a known person, a national ID (new persons are registered), or a name
    and phone with a residence until the person is identified."""

    person_id: int | None = None
    national_id: str | None = Field(default=None, min_length=15, max_length=20)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    residence_building_code: str | None = None
    residence_district_code: str | None = None
    exposure_kind: ExposureKind
    exposure_building_code: str | None = None
    last_exposure_at: AwareDatetime | None = None
    # Day 1 of the quarantine order; the local day of registration when not given.
    quarantine_starts_on: date | None = None

    @model_validator(mode="after")
    def _who(self) -> ContactCreate:
        if self.person_id is None and self.national_id is None:
            if not self.name:
                raise ValueError("a contact needs person_id, national_id, or at least a name")
            if not (self.residence_building_code or self.residence_district_code):
                raise ValueError(
                    "a contact without a national ID needs a residence building or district"
                )
        return self


class ContactIdentify(BaseModel):
    national_id: str = Field(min_length=15, max_length=20)
    name: str | None = Field(default=None, min_length=1, max_length=64)
    phone: str | None = Field(default=None, max_length=32)
    residence_building_code: str | None = None
    residence_district_code: str | None = None


class QuarantineOrderRead(BaseModel):
    id: int
    contact_id: int
    person_id: int | None
    district_code: str
    facility_code: str | None
    awaiting_bed: bool
    status: str
    starts_on: date
    home_from: date
    ends_on: date
    test_days: list[date]
    policy_version: str
    bed_from: date | None
    ended_on: date | None
    released_at: datetime | None
    release_test_at: datetime | None
    release_test_result: str | None


class ContactRead(BaseModel):
    id: int
    case_id: int
    person_id: int | None
    identified: bool
    # Only for a contact not yet identified (an audited read).
    name: str | None = None
    phone: str | None = None
    residence_district_code: str
    residence_building_code: str | None
    tracing_district_code: str
    exposure_kind: str
    exposure_building_code: str | None
    last_exposure_at: datetime | None
    registered_at: datetime
    quarantine_order: QuarantineOrderRead | None
    referral_need_id: int | None


class QuarantineRelease(BaseModel):
    tested_at: AwareDatetime
    result: Literal["negative", "positive"]
    released_at: AwareDatetime | None = None


class ContactReferralNeedRead(BaseModel):
    """A contact living in another district, for the referrals domain (frozen contract)."""

    model_config = ConfigDict(frozen=True)

    id: int
    person_id: int
    reason: Literal["close_contact"]
    contact_id: int
    case_id: int
    from_district_id: int
    to_district_id: int
    created_at: datetime


class FacilityUse(BaseModel):
    facility_code: str
    district_code: str
    kind: str
    beds: int
    used: int


class OccupancyRead(BaseModel):
    day: date
    facilities: list[FacilityUse]
    awaiting_bed: int


class DistrictDay(BaseModel):
    """One district's figures for a day, as the bulletin counts them."""

    district_code: str
    new_confirmed: int  # conversions included, as the bulletin says "含N例無症狀轉確診"
    new_asymptomatic: int
    conversions: int
    found_under_control: int
    found_on_surface: int
    new_infections: int  # new_confirmed - conversions + new_asymptomatic: each person once
    quarantine_occupancy: int

    @classmethod
    def of(cls, district_code: str, figures: Mapping[str, int]) -> DistrictDay:
        return cls(
            district_code=district_code,
            new_infections=figures["new_confirmed"]
            - figures["conversions"]
            + figures["new_asymptomatic"],
            **{name: figures[name] for name in DAILY_FIGURES},
        )

    @classmethod
    def total(cls, rows: Sequence[DistrictDay]) -> DistrictDay:
        return cls.of(
            "total", {name: sum(getattr(r, name) for r in rows) for name in DAILY_FIGURES}
        )

    def has_figures(self) -> bool:
        return any(getattr(self, name) for name in DAILY_FIGURES)


# A district's daily figures, as the bulletin counts them and the daily aggregates keep them.
DAILY_FIGURES = (
    "new_confirmed",
    "new_asymptomatic",
    "conversions",
    "found_under_control",
    "found_on_surface",
    "quarantine_occupancy",
)


class DaySummary(BaseModel):
    day: date
    districts: list[DistrictDay]
    total: DistrictDay


class CandidateIntake(BaseModel):
    """What the cases domain made of the screening domain's case candidates."""

    candidates: int = 0
    cases_created: int = 0
    already_cases: int = 0  # the person was already a case: a repeat positive, no new case
    unknown_persons: int = 0
    case_ids: list[int] = Field(default_factory=list)
