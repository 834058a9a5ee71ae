"""Outbox tables: messages written in their cause's transaction, districts' webhook endpoints, and
one delivery per message and endpoint that carries its own retry schedule (attempts, next attempt,
lease), so that a restart continues where the last process stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from xietong.storage.base import Base, BigIntPK, UTCDateTime


class OutboxMessage(Base):
    """Something a district or the command centre must learn; never deleted by delivery."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status", "status"),
        Index("ix_outbox_message_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # District ids; a null entry means the command centre (the city).
    audience: Mapped[list[int | None]] = mapped_column(JSON)
    # The receivers' deduplication key: the same cause always yields the same key.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # pending until every webhook delivery has succeeded; dead when one ran out of attempts.
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookEndpoint(Base):
    """A district's system (or the command centre's) that receives signed webhooks."""

    __tablename__ = "outbox_webhook_endpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None: the command centre's endpoint, which receives every message addressed to the city.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("areas_district.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200))
    # AES-GCM ciphertext of the signing secret: it must be usable to sign, so it is not hashed.
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    # Topic prefixes this endpoint wants ("referral."); None: every topic.
    topics: Mapped[list[str] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(64))


class Delivery(Base):
    """One message to one endpoint, retried with backoff until delivered or dead."""

    __tablename__ = "outbox_delivery"
    __table_args__ = (
        UniqueConstraint("message_id", "endpoint_id"),
        Index("ix_outbox_delivery_due", "status", "next_attempt_at"),
        Index("ix_outbox_delivery_endpoint", "endpoint_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_message.id"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("outbox_webhook_endpoint.id"))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set while a dispatcher is sending; a dispatcher that dies leaves it to expire, and the
    # delivery is then claimed again. It also fences a late outcome from an expired claim.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
