"""Risk areas, the steps of their life, and the infections the zones rules count, per building.

A high-risk area is always exactly one building: never silently widened to a community.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

_OPEN_BUILDING_SQL = (
    "CASE WHEN status IN ('proposed', 'active', 'lifting_proposed') THEN building_id END"
)


class RiskArea(Base):
    """No index reads a column that a step changes (status, the step's times, `updated_at`):
    on PostgreSQL, with room left on each page, a step rewrites the row in place (a heap-only
    tuple update) instead of adding an entry to every index, which is what lets the daily
    evaluation propose tens of thousands of liftings at once (migration 0260)."""

    __tablename__ = "zones_risk_area"
    __table_args__ = (
        Index("ix_zones_risk_area_building", "building_id"),
        Index("ix_zones_risk_area_district", "district_id"),
        # One open area per building, even when an automatic proposal races a user's.
        Index("uq_zones_risk_area_open_building", "open_building_id", unique=True),
        # What a step's one foreign key refers to: its area and the area's district together.
        Index("uq_zones_risk_area_id_district", "id", "district_id", unique=True),
        {"postgresql_with": {"fillfactor": 70}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("areas_building.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    level: Mapped[str] = mapped_column(String(8), default="high")
    status: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(16), server_default="user")
    reason: Mapped[str] = mapped_column(Text)
    # The policy in force when the area was proposed; each later step names its own (events).
    policy_version: Mapped[str] = mapped_column(String(64))
    source_case_id: Mapped[int | None] = mapped_column(Integer)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    # The local day from which the area counts as locked (designation date on the public list).
    active_from: Mapped[date | None] = mapped_column(Date)
    # The first local day that may count as a clean day: the designation day, or the day after
    # a lifting was rejected (the district said "not yet", so the count starts again).
    countdown_from: Mapped[date | None] = mapped_column(Date)
    lifting_proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifting_proposed_by: Mapped[str | None] = mapped_column(String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    # The local day of lifting: the first day the building is no longer locked.
    lifted_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Not indexed: the areas changed since an instant are those with a step since then.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The building while the area is open (proposed, active, lifting proposed), NULL once it is
    # closed: its unique index keeps one open area per building. Written by the database.
    open_building_id: Mapped[int | None] = mapped_column(
        BigInteger, Computed(_OPEN_BUILDING_SQL, persisted=True)
    )


class RiskAreaEvent(Base):
    """One step of an area's life: who, when, why, and under which policy version."""

    __tablename__ = "zones_risk_area_event"
    __table_args__ = (
        Index("ix_zones_risk_area_event_area_at", "area_id", "at"),
        # One check per step, not two: the area exists and the district is the area's (migration
        # 0261). PostgreSQL runs foreign-key checks row by row, and a day writes tens of thousands.
        ForeignKeyConstraint(
            ["area_id", "district_id"], ["zones_risk_area.id", "zones_risk_area.district_id"]
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    area_id: Mapped[int] = mapped_column(Integer)
    district_id: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    day: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class BuildingInfection(Base):
    """A new infection found in a building: what the lifting countdown restarts on."""

    __tablename__ = "zones_building_infection"
    __table_args__ = (
        UniqueConstraint("person_id", "building_id"),
        Index("ix_zones_building_infection_building_day", "building_id", "day"),
        Index("ix_zones_building_infection_day", "day"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("areas_building.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"))
    case_id: Mapped[int | None] = mapped_column(Integer)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    day: Mapped[date] = mapped_column(Date)
    on_surface: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
