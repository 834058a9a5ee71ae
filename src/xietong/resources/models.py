"""Quarantine places and laboratories of each district, and their capacity reports.

The cases domain assigns quarantine orders to facilities with free beds (through
`resources.places`); mutual aid (`xietong.mutual_aid`) plans with the capacity reported here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, UTCDateTime

FACILITY_KINDS = ("centralised_quarantine", "makeshift_hospital", "home_isolation")


class Place:
    """What a facility and a laboratory both are: a named place of a district, in use or not."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Facility(Place, Base):
    """集中隔離點, 方艙醫院, or a district's home-isolation capacity."""

    __tablename__ = "resources_facility"

    kind: Mapped[str] = mapped_column(String(32))
    beds: Mapped[int] = mapped_column(Integer)
    available_from: Mapped[date | None] = mapped_column(Date)
    available_to: Mapped[date | None] = mapped_column(Date)


class Laboratory(Place, Base):
    """A laboratory and the tubes it tests a day."""

    __tablename__ = "resources_laboratory"

    tubes_per_day: Mapped[int] = mapped_column(Integer)


# --- capacity reports ----------------------------------------------------------------------------
# A district's report of one facility's or laboratory's capacity. Without days it is the new
# standing capacity (and updates the facility or laboratory row); with days it is an availability
# window: the capacity on those days only (0: closed). On any day the latest report covering it
# wins; a day no report covers has the standing capacity. The rows are the history of changes.
CAPACITY_SOURCES = ("api", "csv", "cli")


class CapacityReport(Base):
    __tablename__ = "resources_capacity_report"
    __table_args__ = (
        Index("ix_resources_capacity_report_facility", "facility_id", "id"),
        Index("ix_resources_capacity_report_laboratory", "laboratory_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("resources_facility.id"))
    laboratory_id: Mapped[int | None] = mapped_column(ForeignKey("resources_laboratory.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    capacity: Mapped[int] = mapped_column(Integer)
    previous_capacity: Mapped[int | None] = mapped_column(Integer)
    first_day: Mapped[date | None] = mapped_column(Date)
    last_day: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8))
    reported_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
