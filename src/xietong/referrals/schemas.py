"""Pydantic shapes of referrals. The person's details appear only for the receiving district once
it has acknowledged (and for the command centre); the sending district sees status and feedback."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from xietong.referrals.states import Status

Reason = Literal["pooled_positive", "positive", "close_contact", "left_high_risk_area", "manual"]


class ReferralCreate(BaseModel):
    """A referral made by hand (a flow investigation, a call): the evidence names the cause."""

    person_id: int
    reason: Reason = "manual"
    evidence: str = Field(
        min_length=1,
        max_length=120,
        description="What the referral rests on (report number, tube code); the same person, "
        "reason and evidence always give the same referral.",
    )
    to_district_code: str | None = Field(
        default=None, description="Receiving district; the person's residence district if omitted."
    )
    from_district_code: str | None = Field(
        default=None,
        description="Sending district (command centre only; a district sends as itself).",
    )
    note: str | None = Field(default=None, max_length=2000)


class Feedback(BaseModel):
    feedback: str = Field(min_length=1, max_length=4000)


class ActionNote(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class Decline(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    redirect_to_district_code: str | None = Field(
        default=None,
        description="The district where the person actually is: the referral is pushed on there.",
    )


class AcknowledgeMany(BaseModel):
    referral_ids: list[int] = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class Refusal(BaseModel):
    referral_id: int
    field: str
    reason: str


class AcknowledgedMany(BaseModel):
    """Each referral acknowledged or refused on its own: a refused one is left as it was."""

    acknowledged: list[int]
    refused: list[Refusal]


class NoteCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class Assign(BaseModel):
    assignee: str | None = Field(
        description="A field worker of the district that holds the referral; null: nobody."
    )


class Reassign(BaseModel):
    to_district_code: str
    note: str | None = Field(default=None, max_length=2000)


class ReferralPerson(BaseModel):
    """What the receiving district needs to find the person (read audited)."""

    name: str
    phone: str | None
    id_masked: str
    residence_address: str | None
    current_address: str | None
    residence_district_code: str
    current_district_code: str


class HandoffRead(BaseModel):
    hop: int
    kind: str
    from_district_code: str | None
    to_district_code: str
    pushed_at: datetime
    pushed_by: str
    note: str | None
    ended_at: datetime | None
    ended_how: str | None


class ReferralSummary(BaseModel):
    """An inbox or outbox row (no personal data)."""

    id: int
    person_id: int
    reason: str
    evidence: str
    status: Status
    from_district_code: str
    to_district_code: str
    hop: int
    created_at: datetime
    pushed_at: datetime
    acknowledge_due_at: datetime
    control_due_at: datetime
    next_deadline: datetime | None
    seconds_left: int | None
    overdue: bool  # decided on the server: a deadline passed (strictly) before `now`
    missed_deadline: datetime | None  # the first deadline passed, when overdue
    escalated_at: datetime | None
    assignee: str | None = Field(
        default=None, description="The receiving district's field worker it is given to."
    )
    assigned_at: datetime | None = None


class ReferralRead(ReferralSummary):
    note: str | None
    created_by: str
    acknowledged_at: datetime | None
    located_at: datetime | None
    controlled_at: datetime | None
    closed_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    feedback: str | None
    overdue_at: datetime | None
    policy_version: str
    allowed_actions: list[str] = Field(
        description="What the caller may do now, by route name: POST /api/referrals/{id}/<name> "
        "(acknowledge, located, controlled, close, decline, reassign)"
    )
    chain: list[HandoffRead]
    person: ReferralPerson | None


class ReferralEventRead(BaseModel):
    id: int
    hop: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    district_code: str
    actor: str
    note: str | None
    detail: dict[str, Any] | None


class ReferralCreated(BaseModel):
    referral: ReferralRead
    created: bool = Field(description="False when the same cause had already opened it.")
