"""The dispatcher's steps on the outbox tables, each run in its own short transaction: read what
live streams have not seen, lease due deliveries (FOR UPDATE SKIP LOCKED on PostgreSQL), and
record each attempt's outcome with its next try, fenced by the lease.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from xietong.outbox.models import Delivery, OutboxMessage, WebhookEndpoint
from xietong.outbox.service import DEAD, DELIVERED, PENDING

# --- what the dispatcher runs (each step in its own short transaction) ------------------------


@dataclass(frozen=True)
class BroadcastMessage:
    """A message as live streams see it."""

    id: int
    topic: str
    payload: dict[str, Any]
    audience: tuple[int | None, ...]
    created_at: datetime

    def visible_to(self, district_id: int | None) -> bool:
        """The command centre (None) sees everything; a district, what is addressed to it."""
        return district_id is None or district_id in self.audience

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "created_at": self.created_at.isoformat(),
            "payload": self.payload,
        }


def _broadcast_rows(session: Session, query: Select[OutboxMessage]) -> list[BroadcastMessage]:
    return [
        BroadcastMessage(
            id=m.id,
            topic=m.topic,
            payload=m.payload,
            audience=tuple(m.audience),
            created_at=m.created_at,
        )
        for m in session.scalars(query)
    ]


def latest_message_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0))) or 0)


def messages_after(session: Session, *, after_id: int, limit: int) -> list[BroadcastMessage]:
    """Messages with an id above `after_id`, in id order (live streams and their replay)."""
    return _broadcast_rows(
        session,
        select(OutboxMessage)
        .where(OutboxMessage.id > after_id)
        .order_by(OutboxMessage.id)
        .limit(limit),
    )


def messages_by_id(session: Session, *, ids: Collection[int]) -> list[BroadcastMessage]:
    if not ids:
        return []
    return _broadcast_rows(
        session, select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    )


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased to this dispatcher until `lease`, with what it needs to send."""

    id: int
    message_id: int
    attempt: int
    lease: datetime
    url: str
    secret_enc: bytes
    topic: str
    idempotency_key: str
    body: bytes


def _due(now: datetime) -> Any:
    return (
        Delivery.status == PENDING,
        Delivery.next_attempt_at <= now,
        or_(Delivery.leased_until.is_(None), Delivery.leased_until <= now),
    )


def any_due(session: Session, *, now: datetime) -> bool:
    """Whether a delivery is due (read only: an idle dispatcher never takes a write lock)."""
    return session.scalar(select(Delivery.id).where(*_due(now)).limit(1)) is not None


def claim_due_deliveries(
    session: Session, *, now: datetime, lease: timedelta, limit: int
) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries; concurrent dispatchers skip each other's rows."""
    candidates = (
        select(Delivery.id).where(*_due(now)).order_by(Delivery.next_attempt_at, Delivery.id)
    ).limit(limit)
    leased_until = now + lease
    lease_values = {
        "leased_until": leased_until,
        "attempts": Delivery.attempts + 1,
        "last_attempt_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not ids:
            return []
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(**lease_values)
            .execution_options(synchronize_session=False)
        )
    else:
        # SQLite: one UPDATE takes the write lock first (a read could not be upgraded to a
        # write while a request commits).
        ids = list(
            session.scalars(
                update(Delivery)
                .where(Delivery.id.in_(candidates.scalar_subquery()))
                .values(**lease_values)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not ids:
            return []
    rows = session.execute(
        select(Delivery, OutboxMessage, WebhookEndpoint)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
        .where(Delivery.id.in_(ids))
        .execution_options(populate_existing=True)
    ).all()
    claimed = []
    for delivery, message, endpoint in rows:
        envelope = {
            "id": message.id,
            "topic": message.topic,
            "idempotency_key": message.idempotency_key,
            "created_at": message.created_at.isoformat(),
            "payload": message.payload,
        }
        claimed.append(
            ClaimedDelivery(
                id=delivery.id,
                message_id=message.id,
                attempt=delivery.attempts,
                lease=leased_until,
                url=endpoint.url,
                secret_enc=endpoint.secret_enc,
                topic=message.topic,
                idempotency_key=message.idempotency_key,
                body=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode(),
            )
        )
    return claimed


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: int
    lease: datetime
    ok: bool
    status_code: int | None
    error: str | None
    # When to try again; None with ok False: attempts exhausted, the delivery is dead.
    retry_at: datetime | None


def record_outcomes(session: Session, *, outcomes: Sequence[DeliveryOutcome], now: datetime) -> int:
    """Store what each send gave; return how many were stored (a lost lease is not)."""
    stored = 0
    message_ids: set[int] = set()
    for outcome in outcomes:
        if outcome.ok:
            values: dict[str, Any] = {"status": DELIVERED, "delivered_at": now}
        elif outcome.retry_at is None:
            values = {"status": DEAD}
        else:
            values = {"next_attempt_at": outcome.retry_at}
        values.update(
            leased_until=None,
            last_status_code=outcome.status_code,
            last_error=None if outcome.ok else (outcome.error or "")[:2000],
        )
        # The lease fences a late answer: if the lease expired and another dispatcher took the
        # delivery, its outcome is the one that counts.
        result = session.execute(
            update(Delivery)
            .where(
                Delivery.id == outcome.delivery_id,
                Delivery.status == PENDING,
                Delivery.leased_until == outcome.lease,
            )
            .values(**values)
            .returning(Delivery.message_id)
        )
        message_id = result.scalar_one_or_none()
        if message_id is not None:
            stored += 1
            message_ids.add(message_id)
    _refresh_messages(session, message_ids=message_ids, now=now)
    return stored


def _refresh_messages(session: Session, *, message_ids: Collection[int], now: datetime) -> None:
    """A message is delivered when all its deliveries are, dead when one is and none pends."""
    if not message_ids:
        return
    rows = session.execute(
        select(
            Delivery.message_id,
            Delivery.status,
            func.count(),
            func.sum(Delivery.attempts),
            func.min(Delivery.next_attempt_at),
        )
        .where(Delivery.message_id.in_(message_ids))
        .group_by(Delivery.message_id, Delivery.status)
    ).all()
    by_message: dict[int, dict[str, tuple[int, int, datetime | None]]] = {}
    for message_id, status, count, attempts, next_at in rows:
        by_message.setdefault(message_id, {})[status] = (count, int(attempts or 0), next_at)
    for message_id, statuses in by_message.items():
        attempts = sum(a for _, a, _ in statuses.values())
        if PENDING in statuses:
            values: dict[str, Any] = {
                "status": PENDING,
                "next_attempt_at": statuses[PENDING][2],
            }
        elif DEAD in statuses:
            values = {"status": DEAD, "next_attempt_at": None}
        else:
            values = {"status": DELIVERED, "next_attempt_at": None, "delivered_at": now}
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=attempts, **values)
            .execution_options(synchronize_session=False)
        )


def next_due_at(session: Session) -> datetime | None:
    """When the earliest pending delivery falls due (or its lease expires)."""
    due = session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == PENDING, Delivery.leased_until.is_(None)
        )
    )
    leased = session.scalar(
        select(func.min(Delivery.leased_until)).where(
            Delivery.status == PENDING, Delivery.leased_until.is_not(None)
        )
    )
    candidates = [t for t in (due, leased) if t is not None]
    return min(candidates) if candidates else None


def leased_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Delivery.id).where(
                Delivery.status == PENDING, Delivery.leased_until.is_not(None)
            )
        )
    )


def release_leases(session: Session) -> int:
    """Free every lease at once: only when this process is the one dispatcher (SQLite)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == PENDING, Delivery.leased_until.is_not(None))
        .values(leased_until=None)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    return len(list(result))
