"""Risk areas and the infections the zones rules count, per building.

A high-risk area is always one building (or unit): never silently widened to a community.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

# Life cycle: proposed → active (approved) | rejected; active → lifting_proposed → lifted.
OPEN_STATUSES = ("proposed", "active", "lifting_proposed")
LOCKED_STATUSES = ("active", "lifting_proposed")


class RiskArea(Base):
    __tablename__ = "zones_risk_area"
    __table_args__ = (
        Index("ix_zones_risk_area_building_status", "building_id", "status"),
        Index("ix_zones_risk_area_district_status", "district_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("areas_building.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    level: Mapped[str] = mapped_column(String(8), default="high")
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(64))
    source_case_id: Mapped[int | None] = mapped_column(Integer)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    proposed_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    # The local day from which the area counts as locked (designation date on the public list).
    active_from: Mapped[date | None] = mapped_column(Date)
    lifting_proposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class BuildingInfection(Base):
    """A new infection found in a building: what the lifting countdown restarts on."""

    __tablename__ = "zones_building_infection"
    __table_args__ = (
        UniqueConstraint("person_id", "building_id"),
        Index("ix_zones_building_infection_building_day", "building_id", "day"),
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
