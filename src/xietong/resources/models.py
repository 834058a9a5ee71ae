"""Quarantine places and laboratories of each district, with their capacity.

Shared by the cases domain (quarantine orders are assigned to facilities with free beds) and the
resources domain (mutual aid between districts).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, UTCDateTime

FACILITY_KINDS = ("centralised_quarantine", "makeshift_hospital", "home_isolation")


class Facility(Base):
    """集中隔離點, 方艙醫院, or a district's home-isolation capacity."""

    __tablename__ = "resources_facility"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    beds: Mapped[int] = mapped_column(Integer)
    available_from: Mapped[date | None] = mapped_column(Date)
    available_to: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Laboratory(Base):
    __tablename__ = "resources_laboratory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    tubes_per_day: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
