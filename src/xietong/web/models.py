"""What the dashboard itself remembers: the forms already acted on (a double submit acts once)
and what each user has seen (the unread mark on an answered referral)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, UTCDateTime


class FormSubmission(Base):
    """The key a rendered form carries: the first submission claims it, a repeat finds it."""

    __tablename__ = "web_form_submission"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SeenMark(Base):
    """When a user last opened a record (a referral) and in which state it was then: a record
    answered since (another state) is unread."""

    __tablename__ = "web_seen_mark"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32), primary_key=True)
    entity_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str | None] = mapped_column(String(32))
