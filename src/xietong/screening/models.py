"""Tables of mass screening: sampling sites, tubes and their members, laboratory results, and
what a result sets off (holds, retest and resample tasks, case candidates, referral needs).

The three tables that grow by the million every day — tubes, memberships, results — carry their
sampling district (for sharding by district) and no foreign keys: ingestion checks references in
bulk, and a per-row foreign-key check would cost more than the row itself. Their indexes are the
ones the queries need and no more (docs/screening.md says which query needs which).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

TUBE_KINDS = ("screening", "retest", "resample")
OUTCOMES = ("negative", "positive", "invalid")
PLAN_STATUSES = ("high_risk_area", "central_urban_area", "other_districts", "wind_down")


class Site(Base):
    """A sampling site (採樣點): where swabs are taken; its district is the sampling district."""

    __tablename__ = "screening_site"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Tube(Base):
    """One sampling tube: a pool of up to `pool_size` swabs (混管), or a single swab."""

    __tablename__ = "screening_tube"
    __table_args__ = (
        UniqueConstraint("code"),
        # Coverage, metrics and planned-vs-done read a district's tubes of one round.
        Index("ix_screening_tube_district_round", "district_id", "round_day"),
        Index("ix_screening_tube_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    site_id: Mapped[int] = mapped_column(Integer)
    district_id: Mapped[int] = mapped_column(Integer)
    building_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))
    pool_size: Mapped[int] = mapped_column(SmallInteger)
    member_count: Mapped[int] = mapped_column(Integer)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The round: the local screening day of `collected_at` in the deployment's time zone.
    round_day: Mapped[date] = mapped_column(Date)
    replaces_tube_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Membership(Base):
    """A person whose swab went into a tube: ten million rows on a screening day.

    The primary key leads with the round and the person: it finds a person's tubes of a round
    (the two-open-tubes rule, coverage, a person's history) and keeps a day's inserts in one
    region of the index. Members of a tube are found through `tube_id`: a BRIN index on
    PostgreSQL (memberships are written in tube order, so it costs almost nothing), a b-tree on
    SQLite, whose table is clustered on the primary key (WITHOUT ROWID).
    """

    __tablename__ = "screening_membership"
    __table_args__ = (
        Index(
            "ix_screening_membership_tube",
            "tube_id",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 16},
        ),
        {"sqlite_with_rowid": False},
    )

    round_day: Mapped[date] = mapped_column(Date, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tube_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    district_id: Mapped[int] = mapped_column(Integer)


class ResultBatch(Base):
    """One delivery of results (a file or an API call): who sent it and what became of it."""

    __tablename__ = "screening_result_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    submitted_by: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    rows_read: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    conflicts: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)


class LabReport:
    """What a laboratory reports of a tube: the outcome, its Ct value, which laboratory and
    when (a result of record and a differing second result alike)."""

    tube_id: Mapped[int] = mapped_column(BigInteger)
    district_id: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8))
    ct_value: Mapped[float | None] = mapped_column(Float)
    lab_code: Mapped[str] = mapped_column(String(40))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LabResult(LabReport, Base):
    """The result of record of a tube (one per tube; a differing second result is a conflict)."""

    __tablename__ = "screening_lab_result"
    __table_args__ = (
        UniqueConstraint("tube_id"),
        # updated_at >= created_at: one index finds rows new or changed since the last refresh.
        Index("ix_screening_lab_result_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResultConflict(LabReport, Base):
    """A second result for a tube that differs from its result of record: never an overwrite;
    a person keeps one or the other."""

    __tablename__ = "screening_result_conflict"
    __table_args__ = (
        # The same differing result delivered twice is one conflict.
        UniqueConstraint("tube_id", "fingerprint"),
        Index("ix_screening_result_conflict_status_district", "status", "district_id"),
        Index("ix_screening_result_conflict_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(80))
    batch_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hold(Base):
    """A member of a positive pool held in place (temporary control) until a retest clears it."""

    __tablename__ = "screening_hold"
    __table_args__ = (
        UniqueConstraint("person_id", "tube_id"),
        Index("ix_screening_hold_district_released", "district_id", "released_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    tube_id: Mapped[int] = mapped_column(BigInteger)
    district_id: Mapped[int] = mapped_column(Integer)  # where the person is held
    reason: Mapped[str] = mapped_column(String(24))
    held_from: Mapped[datetime] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str | None] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RetestTask(Base):
    """A single-tube retest (單採單檢) of a positive pool's member, in the district where the
    member is now."""

    __tablename__ = "screening_retest_task"
    __table_args__ = (
        UniqueConstraint("person_id", "source_tube_id"),
        Index("ix_screening_retest_task_district_status", "district_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    source_tube_id: Mapped[int] = mapped_column(BigInteger)
    district_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    retest_tube_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ResampleTask(Base):
    """An invalid tube whose members must be swabbed again (重採)."""

    __tablename__ = "screening_resample_task"
    __table_args__ = (
        UniqueConstraint("tube_id"),
        Index("ix_screening_resample_task_district_status", "district_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    tube_id: Mapped[int] = mapped_column(BigInteger)
    district_id: Mapped[int] = mapped_column(Integer)
    site_id: Mapped[int] = mapped_column(Integer)
    member_count: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="open")
    replacement_tube_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseCandidate(Base):
    """A positive single tube: the cases domain turns it into a case and marks it consumed."""

    __tablename__ = "screening_case_candidate"
    __table_args__ = (
        UniqueConstraint("person_id", "tube_id"),
        Index("ix_screening_case_candidate_consumed_at", "consumed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    tube_id: Mapped[int] = mapped_column(BigInteger)
    lab_result_id: Mapped[int] = mapped_column(BigInteger)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sampling_district_id: Mapped[int] = mapped_column(Integer)
    sampling_building_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A corrected result withdraws a candidate nobody has acted on yet.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReferralNeed(Base):
    """A positive found in one district whose person lives in another: the referrals domain
    opens the referral and marks the need opened."""

    __tablename__ = "screening_referral_need"
    __table_args__ = (
        UniqueConstraint("person_id", "tube_id", "reason"),
        Index("ix_screening_referral_need_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    person_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(16))  # "pooled_positive" | "positive"
    tube_id: Mapped[int] = mapped_column(BigInteger)
    from_district_id: Mapped[int] = mapped_column(Integer)  # sampling district
    to_district_id: Mapped[int] = mapped_column(Integer)  # residence district
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Plan(Base):
    """The screening plan issued for a local day, under the policy of that day."""

    __tablename__ = "screening_plan"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    policy_version: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))
    high_risk_buildings: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(64))


class PlannedBuilding(Base):
    """A building due on a day: how it tests (pool size) and why (its status)."""

    __tablename__ = "screening_planned_building"
    __table_args__ = (Index("ix_screening_planned_building_day_district", "day", "district_id"),)

    day: Mapped[date] = mapped_column(ForeignKey("screening_plan.day"), primary_key=True)
    building_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    district_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    every_days: Mapped[int] = mapped_column(SmallInteger)
    pool_size: Mapped[int] = mapped_column(SmallInteger)
    persons: Mapped[int] = mapped_column(Integer)


class ResultBatchRejects(Base):
    """The rejected rows of a delivery loaded without them, as the file the sender downloads to
    fix them (line, the row as sent, and the reasons)."""

    __tablename__ = "screening_result_batch_rejects"

    batch_id: Mapped[int] = mapped_column(
        ForeignKey("screening_result_batch.id", ondelete="CASCADE"), primary_key=True
    )
    rows: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
