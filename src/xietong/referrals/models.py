"""Referral tables: the referral (one per person and cause), its chain of hand-offs between
districts, and its append-only event log. Every table carries the receiving district so that the
district's inbox is one indexed filter and the tables can be sharded by district."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime


class Referral(Base):
    """A request to a district to locate and control a person, and what became of it."""

    __tablename__ = "referrals_referral"
    __table_args__ = (
        # One referral per person and cause, however often the cause is ingested again.
        UniqueConstraint("person_id", "reason", "evidence"),
        Index("ix_referrals_referral_to_status", "to_district_id", "status"),
        Index("ix_referrals_referral_from_status", "from_district_id", "status"),
        Index("ix_referrals_referral_control_due", "status", "control_due_at"),
        Index("ix_referrals_referral_updated_at", "updated_at"),
        Index("ix_referrals_referral_assignee", "assignee"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"))
    # pooled_positive, positive, close_contact, left_high_risk_area, manual
    reason: Mapped[str] = mapped_column(String(24))
    # The cause, as "<kind>:<id>" (tube:17, contact:4) or a manual reference the sender gave.
    evidence: Mapped[str] = mapped_column(String(160))
    # The district that found the person and pushed the referral; it keeps seeing the outcome.
    from_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    # The district that holds it now (after re-routing or reassignment, the last in the chain).
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    hop: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The current hop: pushed then, due by these deadlines (from the policy in force that day).
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledge_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    control_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    controlled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    # Found overdue by the escalation job in the current hop, and escalated to the command centre.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    policy_version: Mapped[str] = mapped_column(String(64))
    # The field worker of the receiving district who goes to find the person (a username);
    # cleared when the referral moves to another district.
    assignee: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Handoff(Base):
    """One link of the chain: the referral pushed to a district (created, re-routed, reassigned)."""

    __tablename__ = "referrals_handoff"
    __table_args__ = (
        Index("ix_referrals_handoff_to_district", "to_district_id", "pushed_at"),
        Index("ix_referrals_handoff_pushed_at", "pushed_at"),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals_referral.id"), primary_key=True)
    hop: Mapped[int] = mapped_column(Integer, primary_key=True)
    # created, rerouted (by the district that declined), reassigned (by the command centre)
    kind: Mapped[str] = mapped_column(String(16))
    from_district_id: Mapped[int | None] = mapped_column(ForeignKey("areas_district.id"))
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    pushed_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    # How this hop ended: declined, rerouted, reassigned; None while it is the current one.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_how: Mapped[str | None] = mapped_column(String(16))


class ReferralEvent(Base):
    """Append-only history: who did what to the referral, when, and in which hop."""

    __tablename__ = "referrals_event"
    __table_args__ = (
        Index("ix_referrals_event_referral", "referral_id", "id"),
        Index("ix_referrals_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals_referral.id"))
    hop: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    # The receiving district when it happened (metrics count by it).
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    actor: Mapped[str] = mapped_column(String(64))
    actor_district_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
