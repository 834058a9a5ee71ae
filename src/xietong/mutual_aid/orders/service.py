"""Transfer orders: persons (or samples) of one district to be taken in by another, from an
approved plan or a matched help request. Both districts see them and acknowledge them; the
command centre may cancel them; each step reaches the districts concerned through the outbox.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth.service import record_audit
from xietong.core.errors import Conflict, NotFound, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.mutual_aid import sources
from xietong.mutual_aid.models import TransferOrder
from xietong.mutual_aid.schemas import TransferOrderRead
from xietong.resources import service


def _visible_orders(principal: Principal) -> Select[TransferOrder]:
    query = select(TransferOrder)
    if principal.district_id is not None:
        query = query.where(
            or_(
                TransferOrder.from_district_id == principal.district_id,
                TransferOrder.to_district_id == principal.district_id,
            )
        )
    return query


def list_orders(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    plan_id: int | None = None,
    day: date | None = None,
    district_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[TransferOrderRead], int]:
    """Transfer orders; a district sees only those it sends or receives."""
    query = _visible_orders(principal)
    if district_id is not None:
        query = query.where(
            or_(
                TransferOrder.from_district_id == district_id,
                TransferOrder.to_district_id == district_id,
            )
        )
    if status is not None:
        query = query.where(TransferOrder.status == status)
    if plan_id is not None:
        query = query.where(TransferOrder.plan_id == plan_id)
    if day is not None:
        query = query.where(TransferOrder.day == day)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    codes = areas_service.district_code_by_id(session)
    orders = session.scalars(
        query.order_by(TransferOrder.day, TransferOrder.id).limit(limit).offset(offset)
    )
    return [order_read(o, codes) for o in orders], total


def _order(session: Session, principal: Principal, order_id: int) -> TransferOrder:
    order = session.scalar(
        _visible_orders(principal).where(TransferOrder.id == order_id).with_for_update()
    )
    if order is None:
        # Another district's order is not disclosed: not found, as for persons.
        raise NotFound(f"no transfer order {order_id}", code="order_not_found")
    return order


def get_order(session: Session, *, principal: Principal, order_id: int) -> TransferOrderRead:
    return order_read(
        _order(session, principal, order_id), areas_service.district_code_by_id(session)
    )


def acknowledge_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    now: datetime,
) -> TransferOrderRead:
    """The sending or receiving district acknowledges an order; both make it acknowledged."""
    order = _order(session, principal, order_id)
    if principal.district_id is None or principal.role is not Role.district_coordinator:
        raise PermissionDenied(
            "an order is acknowledged by the coordinators of the two districts",
            code="district_only",
        )
    if order.status == "cancelled":
        raise Conflict(f"transfer order {order.id} was cancelled", code="order_cancelled")
    sender = principal.district_id == order.from_district_id
    done_at = order.sender_acknowledged_at if sender else order.receiver_acknowledged_at
    if done_at is not None:
        raise Conflict(
            f"transfer order {order.id} was already acknowledged by this district",
            code="already_acknowledged",
        )
    if sender:
        order.sender_acknowledged_at, order.sender_acknowledged_by = now, principal.username
    else:
        order.receiver_acknowledged_at, order.receiver_acknowledged_by = now, principal.username
    both = order.sender_acknowledged_at is not None and order.receiver_acknowledged_at is not None
    order.status = "acknowledged" if both else "partly_acknowledged"
    codes = _record_change(
        session,
        principal=principal,
        order=order,
        now=now,
        action="acknowledge",
        detail={"end": "sender" if sender else "receiver"},
    )
    if both:
        announce_order(session, order, codes, event="acknowledged")
    return order_read(order, codes)


def cancel_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    note: str | None = None,
    now: datetime,
) -> TransferOrderRead:
    """The command centre cancels an order (e.g. the need went away); both ends are told."""
    service.require_command(principal, "cancel a transfer order")
    order = _order(session, principal, order_id)
    if order.status == "cancelled":
        raise Conflict(f"transfer order {order.id} was already cancelled", code="order_cancelled")
    order.status = "cancelled"
    order.cancelled_at, order.cancelled_by = now, principal.username
    codes = _record_change(
        session, principal=principal, order=order, now=now, action="cancel", reason=note
    )
    announce_order(session, order, codes, event="cancelled")
    return order_read(order, codes)


def _record_change(
    session: Session,
    *,
    principal: Principal,
    order: TransferOrder,
    now: datetime,
    action: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[int, str]:
    """Stamp and audit a change of an order; the district codes its announcement names."""
    order.updated_at = now
    session.flush()
    codes = areas_service.district_code_by_id(session)
    record_audit(
        session,
        principal=principal,
        action=action,
        entity="resources_order",
        entity_ids=[order.id],
        reason=reason,
        detail=detail,
    )
    return codes


def announce_order(
    session: Session, order: TransferOrder, codes: dict[int, str], *, event: str
) -> None:
    audience: list[int | None] = [order.from_district_id, order.to_district_id]
    if event != "issued":
        audience.append(None)
    sources.deliver(
        session,
        topic=f"resources.transfer_order.{event}",
        payload=order_read(order, codes).model_dump(mode="json"),
        audience=audience,
        key=f"resources.transfer_order.{order.id}.{event}",
        now=order.updated_at,
    )


def order_read(order: TransferOrder, codes: dict[int, str]) -> TransferOrderRead:
    return TransferOrderRead(
        id=order.id,
        plan_id=order.plan_id,
        help_request_id=order.help_request_id,
        help_offer_id=order.help_offer_id,
        resource=order.resource,
        from_district_code=codes[order.from_district_id],
        to_district_code=codes[order.to_district_id],
        day=order.day,
        amount=order.amount,
        distance_km=order.distance_km,
        status=order.status,
        issued_by=order.issued_by,
        created_at=order.created_at,
        sender_acknowledged_at=order.sender_acknowledged_at,
        sender_acknowledged_by=order.sender_acknowledged_by,
        receiver_acknowledged_at=order.receiver_acknowledged_at,
        receiver_acknowledged_by=order.receiver_acknowledged_by,
        cancelled_at=order.cancelled_at,
        cancelled_by=order.cancelled_by,
    )
