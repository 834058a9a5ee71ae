"""The adopted policy files, kept forever so that any past decision can be explained."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, UTCDateTime


class AdoptedPolicy(Base):
    __tablename__ = "policy_adopted"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The file exactly as adopted (TOML): the record of what was in force.
    source_text: Mapped[str] = mapped_column(Text)
    adopted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    adopted_by: Mapped[str] = mapped_column(String(64))
