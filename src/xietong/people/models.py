"""The person table holds no plain national ID, name or phone: a keyed hash and a masked form of
the ID, and AES-GCM ciphertexts of name and phone (with keyed hashes of each, to find possible
duplicates). Residence and current place are kept apart (who is responsible vs where the person
is), both with their district for scoping. A duplicate merged into another person stays, marked
with its survivor; the pairs proposed as duplicates keep their reason and decision."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime

# The same expression in the index and in the search, written out (not bound parameters) so
# that both PostgreSQL and SQLite match the query to the index.
ID_TAIL_SQL = "substr(id_masked, 15, 4)"


class Person(Base):
    __tablename__ = "people_person"
    __table_args__ = (
        Index("ix_people_person_residence_district", "residence_district_id"),
        Index("ix_people_person_current_district", "current_district_id"),
        # Who stays in each building of a district (the screening plan counts them per building):
        # read from the index alone, without a visit to every person's row.
        Index(
            "ix_people_person_stay",
            "current_district_id",
            "current_building_id",
            postgresql_where=text("merged_into_id IS NULL"),
            sqlite_where=text("merged_into_id IS NULL"),
        ),
        Index("ix_people_person_residence_building", "residence_building_id"),
        Index("ix_people_person_name_birth", "name_hash", "birth_date"),
        Index("ix_people_person_phone_birth", "phone_hash", "birth_date"),
        Index("ix_people_person_phone_tail", "phone_tail_hash"),
        # The ID's last four characters as read out on the telephone (`people.search`): every
        # number is 18 characters, so the masked form keeps them at 15-18 on both backends.
        Index("ix_people_person_id_tail", text(ID_TAIL_SQL)),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # HMAC-SHA256 of the normalised national ID: the only form in which the ID is matched.
    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    id_masked: Mapped[str] = mapped_column(String(18))
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Keyed hashes (the ID's key) of the normalised name and phone: how duplicates are found.
    name_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # The keyed hash of the phone's last four digits: what a caller reads out to be found.
    phone_tail_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    residence_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    residence_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    current_building_id: Mapped[int | None] = mapped_column(ForeignKey("areas_building.id"))
    current_district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when this record was merged into another (the survivor): kept, no longer listed.
    # No foreign key: a sharded person table cannot refer to another shard's row.
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger)
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PersonAccessGrant(Base):
    """A district outside the person's own that may see the person (e.g. the receiving district
    of a referral), until `expires_at`. Written by the domains that hand persons over."""

    __tablename__ = "people_access_grant"

    person_id: Mapped[int] = mapped_column(ForeignKey("people_person.id"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("areas_district.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DuplicatePair(Base):
    """Two persons that may be one (the lower id first), why, and what was decided: open,
    merged, dismissed ("not the same person", never proposed again) or superseded (one of the
    two was merged into a third person)."""

    __tablename__ = "people_duplicate_pair"
    __table_args__ = (
        UniqueConstraint("first_person_id", "second_person_id"),
        Index("ix_people_duplicate_pair_status", "status"),
        Index("ix_people_duplicate_pair_second", "second_person_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    first_person_id: Mapped[int] = mapped_column(BigInteger)
    second_person_id: Mapped[int] = mapped_column(BigInteger)
    # name_birth, phone_birth or name_birth+phone_birth
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    found_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    survivor_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
