"""Tables of points and lines: cases and the places they were at, clusters, transmission links,
close contacts, their quarantine orders and the referral needs of contacts living elsewhere.

Every large table carries its district(s) so that scoped reads filter on one indexed column.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

# Values of the string columns (the schemas' Literals say the same for the API):
# classification: confirmed | asymptomatic; control_reason: quarantine_order | held |
# high_risk_area; place role: residence | found | workplace | venue | visited.


class Case(Base):
    """A confirmed case or an asymptomatic infection (one per person)."""

    __tablename__ = "cases_case"
    __table_args__ = (
        UniqueConstraint("person_id"),
        UniqueConstraint("candidate_id"),
        Index("ix_cases_case_report_district_day", "report_district_id", "report_day"),
        # The recent cases, of every district (the overview's open chains start from them).
        Index("ix_cases_case_report_day", "report_day"),
        Index("ix_cases_case_residence_district", "residence_district_id"),
        Index("ix_cases_case_conversion_day", "conversion_day"),
        # The members of a chain, found from its root (the chains are counted by it).
        Index("ix_cases_case_chain_root", "chain_root_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"))
    classification: Mapped[str] = mapped_column(String(16))
    # The class the case was first reported in: what the report day counts it as.
    initial_classification: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # "screening" | "field"
    # The screening domain's case candidate it came from (no foreign key across domains).
    candidate_id: Mapped[int | None] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_day: Mapped[date] = mapped_column(Date)
    onset_day: Mapped[date | None] = mapped_column(Date)
    report_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    residence_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    residence_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    found_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    # Computed from the state at detection (never typed in); the reason names which control.
    found_under_control: Mapped[bool] = mapped_column(Boolean)
    control_reason: Mapped[str | None] = mapped_column(String(24))
    control_order_id: Mapped[int | None] = mapped_column(Integer)
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    conversion_day: Mapped[date | None] = mapped_column(Date)
    policy_version: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The first case of the case's chain (the one case of it without a source), kept by
    # `cases.links.roots` whenever a link is made or removed; None for a case without links.
    chain_root_id: Mapped[int | None] = mapped_column(BigInteger)


class CasePlace(Base):
    """A building a case lived in, was found in, worked in or visited (流調 trajectory)."""

    __tablename__ = "cases_place"
    __table_args__ = (
        UniqueConstraint("case_id", "building_id", "role"),
        Index("ix_cases_place_building_day", "building_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"))
    building_id: Mapped[int] = mapped_column(ForeignKey("areas_building.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    role: Mapped[str] = mapped_column(String(16))
    # The day the case was at the place: the visit day, or the report day for home and finding.
    day: Mapped[date] = mapped_column(Date)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Cluster(Base):
    """A point (點): a place with linked cases, proposed by shared place, decided by a person."""

    __tablename__ = "cases_cluster"
    __table_args__ = (
        Index("ix_cases_cluster_building", "building_id"),
        Index("ix_cases_cluster_district_status", "district_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("areas_building.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    place_kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # proposed | confirmed | rejected
    first_case_day: Mapped[date] = mapped_column(Date)
    last_case_day: Mapped[date] = mapped_column(Date)
    # The last of the policy's quiet days: from the day after, the cluster is closed.
    closed_on: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ClusterMember(Base):
    __tablename__ = "cases_cluster_member"
    __table_args__ = (Index("ix_cases_cluster_member_case", "case_id"),)

    cluster_id: Mapped[int] = mapped_column(ForeignKey("cases_cluster.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # proposed | confirmed | rejected
    place_role: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TransmissionLink(Base):
    """A line (線): who infected whom, with the evidence; each case has at most one source."""

    __tablename__ = "cases_transmission_link"
    __table_args__ = (
        UniqueConstraint("target_case_id"),
        Index("ix_cases_transmission_link_source", "source_case_id"),
        Index("ix_cases_transmission_link_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"))
    target_case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"))
    evidence_kind: Mapped[str] = mapped_column(String(24))
    evidence: Mapped[str] = mapped_column(Text)
    # Districts of report of the two cases, and the day the infectee was reported: a link whose
    # districts differ is a spillover (外溢) counted on that day.
    from_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    day: Mapped[date] = mapped_column(Date)
    spillover: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CloseContact(Base):
    """A close contact (密接) of a case: a known person, or a name and phone until identified."""

    __tablename__ = "cases_close_contact"
    __table_args__ = (
        UniqueConstraint("case_id", "person_id"),
        Index("ix_cases_close_contact_person", "person_id"),
        Index("ix_cases_close_contact_residence_district", "residence_district_id"),
        # The quarantine orders a district sees include those of the contacts it traces.
        Index("ix_cases_close_contact_tracing_district", "tracing_district_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people_person.id"))
    # Only while the person is not identified; encrypted like the person table's fields.
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    residence_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    residence_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    # The district tracing the contact: the case's district of report.
    tracing_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    exposure_kind: Mapped[str] = mapped_column(String(16))
    exposure_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    last_exposure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuarantineOrder(Base):
    """Centralised quarantine then home isolation for a contact, dated from the policy."""

    __tablename__ = "cases_quarantine_order"
    __table_args__ = (
        UniqueConstraint("contact_id"),
        Index("ix_cases_quarantine_order_person_status", "person_id", "status"),
        Index("ix_cases_quarantine_order_facility_start", "facility_id", "starts_on"),
        Index("ix_cases_quarantine_order_district_start", "district_id", "starts_on"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("cases_close_contact.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people_person.id"))
    # The contact's district of residence, whose facilities take the contact.
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    # None while no bed is free (the order waits for one) or when there is no centralised phase.
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("resources_facility.id"))
    # The first day in the facility's bed (the start, or the day a waiting order got its bed).
    bed_from: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))  # active | released | became_case | cancelled
    starts_on: Mapped[date] = mapped_column(Date)
    home_from: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    test_days: Mapped[list[Any]] = mapped_column(JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    # The day the order stopped holding its person early (became a case, cancelled).
    ended_on: Mapped[date | None] = mapped_column(Date)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_test_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_test_result: Mapped[str | None] = mapped_column(String(16))
    released_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ContactReferralNeed(Base):
    """A contact living in another district: that district must find and control the person."""

    __tablename__ = "cases_contact_referral_need"
    __table_args__ = (
        UniqueConstraint("contact_id"),
        Index("ix_cases_contact_referral_need_opened", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("cases_close_contact.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases_case.id"))
    reason: Mapped[str] = mapped_column(String(24))
    from_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LinkProposal(Base):
    """A link a district proposes between its case and a case it may not see: the other case's
    district confirms it (the link is made) or rejects it. A proposal naming no existing case
    has no district and is never decided; its proposer cannot tell it from the others."""

    __tablename__ = "cases_link_proposal"
    __table_args__ = (Index("ix_cases_link_proposal_to_status", "to_district_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_case_id: Mapped[int] = mapped_column(BigInteger)
    target_case_id: Mapped[int] = mapped_column(BigInteger)
    evidence_kind: Mapped[str] = mapped_column(String(24))
    evidence: Mapped[str] = mapped_column(Text)
    from_district_id: Mapped[int | None] = mapped_column(ForeignKey("areas_district.id"))
    to_district_id: Mapped[int | None] = mapped_column(ForeignKey("areas_district.id"))
    status: Mapped[str] = mapped_column(String(16))  # proposed, confirmed, rejected
    proposed_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    link_id: Mapped[int | None] = mapped_column(BigInteger)
