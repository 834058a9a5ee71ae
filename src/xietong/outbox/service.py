"""The outbox's operations: `enqueue` in the caller's transaction, webhook endpoints, and the
claim / record steps the dispatcher runs. Services add and flush; the caller commits.

`enqueue` is idempotent on its key (a cause re-ingested writes nothing new) and rings the
dispatcher when the transaction commits: in this process through a doorbell, in the others
through PostgreSQL's NOTIFY, which the database delivers only on commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Select,
    Text,
    bindparam,
    cast,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.errors import NotFound, PermissionDenied, RowError, ValidationFailed
from xietong.core.principal import Principal, Role
from xietong.outbox.addresses import IPNetwork, check_url
from xietong.outbox.doorbell import DOORBELL
from xietong.outbox.models import Delivery, OutboxMessage, WebhookEndpoint
from xietong.outbox.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointRead,
    EndpointUpdate,
    OutboxSummary,
)
from xietong.people.protection import PersonalDataProtector

NOTIFY_CHANNEL = "xietong_outbox"
PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"

_RING_FLAG = "xietong.outbox.ring"
_HOOKED_FLAG = "xietong.outbox.hooked"
_NOTIFIED_FLAG = "xietong.outbox.notified"


def _as_json(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    raise TypeError(f"payload: {type(obj).__name__} is not JSON serialisable")


def _serialised(payload: dict[str, Any]) -> str:
    """The payload as the JSON text stored, dates as ISO text: the very text the column's JSON
    type would write, but encoded once (a day's notices list tens of thousands of areas)."""
    return json.dumps(payload, default=_as_json)


def _payload_parameter(session: Session) -> Any:
    """The bound payload text as the column takes it: PostgreSQL parses it as JSON, SQLite
    stores JSON as text already; either way the driver does not encode it again."""
    parameter = bindparam("payload_json", type_=Text())
    if session.get_bind().dialect.name == "postgresql":
        return cast(parameter, JSON())
    return parameter


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _ring_after_commit(session: Session) -> None:
    def ring(committed: Session) -> None:
        if committed.info.pop(_RING_FLAG, False):
            DOORBELL.ring()

    if not session.info.get(_HOOKED_FLAG):
        event.listen(session, "after_commit", ring)
        session.info[_HOOKED_FLAG] = True
    session.info[_RING_FLAG] = True
    if session.get_bind().dialect.name == "postgresql":
        # One NOTIFY per transaction is enough: every listener reads all that is new.
        transaction = session.get_transaction()
        if session.info.get(_NOTIFIED_FLAG) is not transaction:
            session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
            session.info[_NOTIFIED_FLAG] = transaction


def enqueue(
    session: Session,
    *,
    topic: str,
    payload: dict[str, Any],
    audience_district_ids: Sequence[int | None],
    idempotency_key: str,
    now: datetime,
) -> None:
    """Write a message for `audience_district_ids` (None: the command centre) in this transaction.

    A key already written is ignored, so a cause processed twice notifies once.
    """
    message = Message(
        topic=topic,
        payload=payload,
        audience_district_ids=audience_district_ids,
        idempotency_key=idempotency_key,
    )
    enqueue_many(session, messages=[message], now=now)


@dataclass(frozen=True, kw_only=True)
class Message:
    topic: str
    payload: dict[str, Any]
    audience_district_ids: Sequence[int | None]
    idempotency_key: str


def enqueue_many(session: Session, *, messages: Sequence[Message], now: datetime) -> None:
    """`enqueue` for many messages at once: the same few statements whatever their number."""
    if not messages:
        return
    table = OutboxMessage.__table__
    audiences = {m.idempotency_key: list(dict.fromkeys(m.audience_district_ids)) for m in messages}
    rows = [
        {
            "topic": m.topic,
            "payload_json": _serialised(m.payload),
            "audience": audiences[m.idempotency_key],
            "idempotency_key": m.idempotency_key,
            "created_at": now,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for m in messages
    ]
    # The table, not the mapped class: no ORM bookkeeping for rows nobody loads here.
    statement = (
        _insert(session)(table)
        .values(payload=_payload_parameter(session))
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id, table.c.idempotency_key)
    )
    written = dict((key, message_id) for message_id, key in session.execute(statement, rows).all())
    if not written:
        return
    topics = {m.idempotency_key: m.topic for m in messages}
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.district_id, WebhookEndpoint.topics).where(
            WebhookEndpoint.active.is_(True)
        )
    ).all()
    deliveries = []
    delivered = []
    for key, message_id in written.items():
        audience = audiences[key]
        found = [
            endpoint_id
            for endpoint_id, district_id, wanted in endpoints
            if district_id in audience
            and (not wanted or any(topics[key].startswith(prefix) for prefix in wanted))
        ]
        deliveries += [
            {
                "message_id": message_id,
                "endpoint_id": endpoint_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in found
        ]
        if not found:
            delivered.append(message_id)
    if deliveries:
        session.execute(insert(Delivery), deliveries)
    # No system to call: live streams read it from the table; nothing is left to deliver.
    for start in range(0, len(delivered), 5_000):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(delivered[start : start + 5_000]))
            .values(status=DELIVERED, delivered_at=now, next_attempt_at=None)
        )
    _ring_after_commit(session)


# --- webhook endpoints ------------------------------------------------------------------------


def _require_admin(principal: Principal, district_id: int | None) -> None:
    if principal.role is Role.command and principal.district_id is None:
        return
    if principal.role is Role.district_coordinator and principal.district_id is not None:
        if district_id == principal.district_id:
            return
        raise NotFound("no such endpoint in your district", code="endpoint_not_found")
    raise PermissionDenied(f"role {principal.role} may not manage webhooks")


def endpoint_read(session: Session, endpoint: WebhookEndpoint) -> EndpointRead:
    codes = areas_service.district_code_by_id(session)
    return EndpointRead(
        id=endpoint.id,
        district_code=codes[endpoint.district_id] if endpoint.district_id is not None else None,
        url=endpoint.url,
        description=endpoint.description,
        topics=endpoint.topics,
        active=endpoint.active,
        created_at=endpoint.created_at,
        created_by=endpoint.created_by,
    )


def create_endpoint(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    endpoint_in: EndpointCreate,
    now: datetime,
    allowed_networks: Sequence[IPNetwork] = (),
) -> tuple[WebhookEndpoint, str]:
    """Register a district's webhook; return it with its signing secret (shown once). A URL
    whose host is not a public address (outside `allowed_networks`) is refused."""
    check_url(str(endpoint_in.url), allowed=allowed_networks)
    district_id: int | None
    if endpoint_in.district_code is not None:
        district_id = areas_service.get_district(session, code=endpoint_in.district_code).id
    else:
        district_id = principal.district_id
    _require_admin(principal, district_id)
    secret = endpoint_in.secret or secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        district_id=district_id,
        url=str(endpoint_in.url),
        description=endpoint_in.description,
        secret_enc=protector.encrypt(secret),
        topics=endpoint_in.topics,
        active=True,
        created_at=now,
        updated_at=now,
        created_by=principal.username,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def get_endpoint(session: Session, *, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"no endpoint {endpoint_id}", code="endpoint_not_found")
    _require_admin(principal, endpoint.district_id)
    return endpoint


def list_endpoints(session: Session, *, principal: Principal) -> list[WebhookEndpoint]:
    _require_admin(principal, principal.district_id)
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if principal.district_id is not None:
        query = query.where(WebhookEndpoint.district_id == principal.district_id)
    return list(session.scalars(query))


def update_endpoint(
    session: Session,
    *,
    principal: Principal,
    endpoint_id: int,
    changes: EndpointUpdate,
    now: datetime,
    allowed_networks: Sequence[IPNetwork] = (),
) -> WebhookEndpoint:
    """Change an endpoint's URL, topics or activity; messages already queued keep their endpoint."""
    endpoint = get_endpoint(session, principal=principal, endpoint_id=endpoint_id)
    if changes.url is not None:
        check_url(str(changes.url), allowed=allowed_networks)
        endpoint.url = str(changes.url)
    if changes.description is not None:
        endpoint.description = changes.description
    if changes.topics is not None:
        endpoint.topics = changes.topics or None
    if changes.active is not None:
        endpoint.active = changes.active
    endpoint.updated_at = now
    session.flush()
    return endpoint


def rotate_secret(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    endpoint_id: int,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """Give an endpoint a new signing secret (shown once); the old one stops at once."""
    endpoint = get_endpoint(session, principal=principal, endpoint_id=endpoint_id)
    secret = secrets.token_urlsafe(32)
    endpoint.secret_enc = protector.encrypt(secret)
    endpoint.updated_at = now
    session.flush()
    return endpoint, secret


# --- deliveries and dead letters --------------------------------------------------------------


def _delivery_query(
    principal: Principal,
) -> Select[Delivery, OutboxMessage, WebhookEndpoint]:
    query = (
        select(Delivery, OutboxMessage, WebhookEndpoint)
        .join(OutboxMessage, OutboxMessage.id == Delivery.message_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
    )
    if principal.district_id is not None:
        query = query.where(WebhookEndpoint.district_id == principal.district_id)
    return query


def _delivery_read(
    delivery: Delivery, message: OutboxMessage, endpoint: WebhookEndpoint, codes: dict[int, str]
) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.id,
        message_id=message.id,
        endpoint_id=endpoint.id,
        endpoint_url=endpoint.url,
        district_code=codes.get(endpoint.district_id) if endpoint.district_id else None,
        topic=message.topic,
        idempotency_key=message.idempotency_key,
        status=delivery.status,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at if delivery.status == PENDING else None,
        last_attempt_at=delivery.last_attempt_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
        delivered_at=delivery.delivered_at,
        created_at=delivery.created_at,
        payload=message.payload,
    )


def list_deliveries(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    endpoint_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[DeliveryRead], int]:
    """Deliveries of the caller's endpoints, newest first (status `dead`: the dead letters)."""
    _require_admin(principal, principal.district_id)
    query = _delivery_query(principal)
    if status is not None:
        if status not in (PENDING, DELIVERED, DEAD):
            raise ValidationFailed(
                errors=[RowError("query", "status", "pending, delivered or dead", status)]
            )
        query = query.where(Delivery.status == status)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Delivery.id.desc()).limit(limit).offset(offset)).all()
    codes = areas_service.district_code_by_id(session)
    return [_delivery_read(d, m, e, codes) for d, m, e in rows], total


def retry_dead(
    session: Session, *, principal: Principal, delivery_id: int, now: datetime
) -> DeliveryRead:
    """Put a dead letter back in the queue with a fresh set of attempts."""
    row = session.execute(_delivery_query(principal).where(Delivery.id == delivery_id)).first()
    if row is None:
        raise NotFound(f"no delivery {delivery_id}", code="delivery_not_found")
    delivery, message, endpoint = row
    _require_admin(principal, endpoint.district_id)
    if delivery.status != DEAD:
        raise ValidationFailed(
            errors=[RowError(f"delivery {delivery_id}", "status", "only a dead letter is retried")]
        )
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.leased_until = None
    message.status = PENDING
    message.next_attempt_at = now
    session.flush()
    _ring_after_commit(session)
    return _delivery_read(delivery, message, endpoint, areas_service.district_code_by_id(session))


def summary(session: Session, *, principal: Principal) -> OutboxSummary:
    _require_admin(principal, principal.district_id)
    deliveries_query = select(Delivery.status, func.count()).group_by(Delivery.status)
    oldest_query = select(func.min(Delivery.created_at)).where(Delivery.status == PENDING)
    if principal.district_id is not None:
        mine = select(WebhookEndpoint.id).where(
            WebhookEndpoint.district_id == principal.district_id
        )
        deliveries_query = deliveries_query.where(Delivery.endpoint_id.in_(mine))
        oldest_query = oldest_query.where(Delivery.endpoint_id.in_(mine))
        messages: dict[str, int] = {}
    else:
        messages = {
            status: count
            for status, count in session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            )
        }
    deliveries = {status: count for status, count in session.execute(deliveries_query)}
    return OutboxSummary(
        messages=messages,
        deliveries=deliveries,
        oldest_pending_delivery_at=session.scalar(oldest_query),
    )
