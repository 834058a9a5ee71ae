"""Tables of the area hierarchy. Lower levels carry their district so that large tables can be
sharded by district and every scoped query filters on one indexed column."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK


class District(Base):
    """A reporting unit: a GB/T 2260 division, or a functional zone carved out of its host."""

    __tablename__ = "areas_district"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    gb_code: Mapped[str | None] = mapped_column(String(6))
    name_hans: Mapped[str] = mapped_column(String(64))
    name_hant: Mapped[str] = mapped_column(String(64))
    pinyin: Mapped[str] = mapped_column(String(128))
    english: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    central_urban: Mapped[bool] = mapped_column(Boolean, default=False)
    population: Mapped[int | None] = mapped_column(Integer)
    population_note: Mapped[str | None] = mapped_column(Text)
    host_code: Mapped[str | None] = mapped_column(String(16))
    centroid_lon: Mapped[float] = mapped_column(Float)
    centroid_lat: Mapped[float] = mapped_column(Float)


class DistrictDistance(Base):
    """Great-circle distance between two districts' centroids (km): transfer costs and mobility."""

    __tablename__ = "areas_district_distance"

    from_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), primary_key=True)
    to_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), primary_key=True)
    km: Mapped[float] = mapped_column(Float)


class Street(Base):
    """街道 / 鎮: a street office or township."""

    __tablename__ = "areas_street"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))


class Community(Base):
    """社區 / 村: a community under a street."""

    __tablename__ = "areas_community"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    street_id: Mapped[int] = mapped_column(ForeignKey("areas_street.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))


class Building(Base):
    """樓棟: the unit at which high-risk areas are designated and screening is planned."""

    __tablename__ = "areas_building"
    __table_args__ = (
        UniqueConstraint("code"),
        Index("ix_areas_building_district_community", "district_id", "community_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40))
    community_id: Mapped[int] = mapped_column(ForeignKey("areas_community.id"))
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    address_label: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="residential")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
