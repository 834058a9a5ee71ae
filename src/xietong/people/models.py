"""The person table holds no plain national ID, name or phone: a keyed hash and a masked form of
the ID, and AES-GCM ciphertexts of name and phone. Residence and current place are kept apart
(who is responsible vs where the person is), both with their district for scoping."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime


class Person(Base):
    __tablename__ = "people_person"
    __table_args__ = (
        Index("ix_people_person_residence_district", "residence_district_id"),
        Index("ix_people_person_current_district", "current_district_id"),
        Index("ix_people_person_residence_building", "residence_building_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # HMAC-SHA256 of the normalised national ID: the only form in which the ID is matched.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    residence_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    residence_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    current_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    current_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PersonAccessGrant(Base):
    """A district outside the person's own that may see the person (e.g. the receiving district
    of a referral), until `expires_at`. Written by the domains that hand persons over."""

    __tablename__ = "people_access_grant"

    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
