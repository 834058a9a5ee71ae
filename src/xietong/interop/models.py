"""FHIR bulk export jobs: who asked, for what, and where the NDJSON files are once written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, UTCDateTime


class ExportJob(Base):
    """One `$export` request, run by the server's workers; its files belong to its requester."""

    __tablename__ = "interop_export_job"
    __table_args__ = (Index("ix_interop_export_job_status", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    district_id: Mapped[int | None] = mapped_column(Integer)
    types: Mapped[list[str]] = mapped_column(JSON)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request: Mapped[str] = mapped_column(Text)
    # queued → running → done | failed; cancelled when the requester deletes it.
    status: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    transaction_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    output: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
