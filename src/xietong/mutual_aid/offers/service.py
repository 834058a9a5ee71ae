"""Help requests and offers between districts, and the command centre's match of one to the other.

A district short of beds asks for N of them over some days; a district with room offers some.
Both are seen city-wide (they hold no personal data). The command centre matches an offer to a
request, which issues a transfer order that both districts then acknowledge like a plan's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth.service import record_audit
from xietong.core.errors import Conflict, NotFound, RowError, ValidationFailed
from xietong.core.principal import Principal
from xietong.mutual_aid import sources
from xietong.mutual_aid.models import HelpOffer, HelpRequest, TransferOrder
from xietong.mutual_aid.orders.service import announce_order, order_read
from xietong.mutual_aid.schemas import (
    HelpIn,
    HelpOfferIn,
    HelpOfferRead,
    HelpRequestIn,
    HelpRequestRead,
    MatchIn,
    TransferOrderRead,
)
from xietong.resources import service
from xietong.storage.paging import paged

_Listed = TypeVar("_Listed", HelpRequest, HelpOffer)


@dataclass(frozen=True)
class StatusInDistrict:
    """Which requests or offers a list asks for: of one status and district (all when None)."""

    status: str | None = None
    district_id: int | None = None


ANY_STATUS_OR_DISTRICT = StatusInDistrict()


def _district_for(session: Session, principal: Principal, given: HelpIn, *, action: str) -> int:
    code = given.district_code
    if code is None:
        if principal.district_id is None:
            raise ValidationFailed(
                errors=[RowError("request", "district_code", "required for a city-wide user")],
                summary=f"cannot {action}",
            )
        return principal.district_id
    district_id = service.district_id_of(session, code)
    assert district_id is not None
    return district_id


def open_request(
    session: Session,
    *,
    principal: Principal,
    request_in: HelpRequestIn,
    now: datetime,
) -> HelpRequestRead:
    """A district asks for help; the command centre is told at once."""
    district_id = _district_for(session, principal, request_in, action="ask for help")
    service.acting_district(principal, district_id, action="ask for help")
    row = HelpRequest(
        district_id=district_id,
        matched=0,
        **_opened_columns(request_in, principal=principal, now=now),
    )
    session.add(row)
    session.flush()
    read = request_read(row, areas_service.district_code_by_id(session))
    sources.deliver(
        session,
        topic="resources.help_request.opened",
        payload=read.model_dump(mode="json"),
        audience=[None, district_id],
        key=f"resources.help_request.{row.id}.opened",
        now=now,
    )
    return read


def open_offer(
    session: Session,
    *,
    principal: Principal,
    offer_in: HelpOfferIn,
    now: datetime,
) -> HelpOfferRead:
    """A district offers spare capacity, perhaps answering a request (whose district is told)."""
    district_id = _district_for(session, principal, offer_in, action="offer help")
    service.acting_district(principal, district_id, action="offer help")
    audience: list[int | None] = [None, district_id]
    if offer_in.request_id is not None:
        request = _request(session, offer_in.request_id)
        problems = []
        if request.status != "open":
            problems.append(RowError("offer", "request_id", f"the request is {request.status}"))
        if request.resource != offer_in.resource:
            problems.append(RowError("offer", "resource", f"the request is for {request.resource}"))
        if request.district_id == district_id:
            problems.append(RowError("offer", "request_id", "a district cannot answer itself"))
        if problems:
            raise ValidationFailed(errors=problems, summary="offer refused")
        audience.append(request.district_id)
    row = HelpOffer(
        district_id=district_id,
        request_id=offer_in.request_id,
        taken=0,
        **_opened_columns(offer_in, principal=principal, now=now),
    )
    session.add(row)
    session.flush()
    read = offer_read(row, areas_service.district_code_by_id(session))
    sources.deliver(
        session,
        topic="resources.help_offer.opened",
        payload=read.model_dump(mode="json"),
        audience=audience,
        key=f"resources.help_offer.{row.id}.opened",
        now=now,
    )
    return read


def _request(session: Session, request_id: int, *, lock: bool = False) -> HelpRequest:
    query = select(HelpRequest).where(HelpRequest.id == request_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no help request {request_id}", code="help_request_not_found")
    return row


def _offer(session: Session, offer_id: int, *, lock: bool = False) -> HelpOffer:
    query = select(HelpOffer).where(HelpOffer.id == offer_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(f"no help offer {offer_id}", code="help_offer_not_found")
    return row


def withdraw_request(
    session: Session, *, principal: Principal, request_id: int, now: datetime
) -> HelpRequestRead:
    """The asking district (or the command centre) withdraws an open request."""
    row = _request(session, request_id, lock=True)
    service.acting_district(principal, row.district_id, action="withdraw a help request")
    if row.status != "open":
        raise Conflict(f"help request {row.id} is {row.status}", code="help_not_open")
    row.status = "withdrawn"
    row.updated_at = now
    session.flush()
    return request_read(row, areas_service.district_code_by_id(session))


def withdraw_offer(
    session: Session, *, principal: Principal, offer_id: int, now: datetime
) -> HelpOfferRead:
    """The offering district (or the command centre) withdraws an open offer."""
    row = _offer(session, offer_id, lock=True)
    service.acting_district(principal, row.district_id, action="withdraw a help offer")
    if row.status != "open":
        raise Conflict(f"help offer {row.id} is {row.status}", code="help_not_open")
    row.status = "withdrawn"
    row.updated_at = now
    session.flush()
    return offer_read(row, areas_service.district_code_by_id(session))


def match(
    session: Session,
    *,
    principal: Principal,
    request_id: int,
    match_in: MatchIn,
    now: datetime,
) -> TransferOrderRead:
    """Answer a request with an offer: a transfer order from the asking district to the offering
    one, for what both still have open, on a day inside both."""
    service.require_command(principal, "match help requests with offers")
    request = _request(session, request_id, lock=True)
    offer = _offer(session, match_in.offer_id, lock=True)
    left_asked, left_offered = request.amount - request.matched, offer.amount - offer.taken
    amount = match_in.amount or min(left_asked, left_offered)
    day = match_in.day or max(request.first_day, offer.first_day)
    problems = []
    if request.status != "open":
        problems.append(RowError("match", "request_id", f"the request is {request.status}"))
    if offer.status != "open":
        problems.append(RowError("match", "offer_id", f"the offer is {offer.status}"))
    if offer.resource != request.resource:
        problems.append(RowError("match", "offer_id", f"the offer is for {offer.resource}"))
    if offer.district_id == request.district_id:
        problems.append(RowError("match", "offer_id", "the offer comes from the asking district"))
    if amount > left_asked or amount > left_offered:
        problems.append(
            RowError(
                "match",
                "amount",
                f"more than still open (asked {left_asked}, offered {left_offered})",
                str(amount),
            )
        )
    if not (
        request.first_day <= day <= request.last_day and offer.first_day <= day <= offer.last_day
    ):
        problems.append(RowError("match", "day", "outside the request's or the offer's days"))
    if problems:
        raise Conflict(
            "; ".join(f"{p.field}: {p.reason}" for p in problems),
            code="match_refused",
            details=[p.as_dict() for p in problems],
        )
    matrix = areas_service.distance_matrix(session)
    codes = areas_service.district_code_by_id(session)
    position = {code: i for i, code in enumerate(matrix.codes)}
    distance = matrix.km[position[codes[request.district_id]]][position[codes[offer.district_id]]]
    order = TransferOrder(
        plan_id=None,
        help_request_id=request.id,
        help_offer_id=offer.id,
        resource=request.resource,
        from_district_id=request.district_id,
        to_district_id=offer.district_id,
        day=day,
        amount=amount,
        distance_km=float(distance),
        status="issued",
        issued_by=principal.username,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    request.matched += amount
    offer.taken += amount
    if request.matched >= request.amount:
        request.status = "met"
    if offer.taken >= offer.amount:
        offer.status = "taken"
    request.updated_at = offer.updated_at = now
    session.flush()
    record_audit(
        session,
        principal=principal,
        action="match",
        entity="resources_order",
        entity_ids=[order.id],
        detail={"request": request.id, "offer": offer.id, "amount": amount},
    )
    announce_order(session, order, codes, event="issued")
    return order_read(order, codes)


def list_requests(
    session: Session,
    *,
    where: StatusInDistrict = ANY_STATUS_OR_DISTRICT,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HelpRequestRead], int]:
    """Help requests, newest first, of one status and district if given."""
    rows, total = _listing(session, HelpRequest, where, limit=limit, offset=offset)
    codes = areas_service.district_code_by_id(session)
    return [request_read(r, codes) for r in rows], total


def list_offers(
    session: Session,
    *,
    where: StatusInDistrict = ANY_STATUS_OR_DISTRICT,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[HelpOfferRead], int]:
    """Help offers, newest first, of one status and district if given."""
    rows, total = _listing(session, HelpOffer, where, limit=limit, offset=offset)
    codes = areas_service.district_code_by_id(session)
    return [offer_read(r, codes) for r in rows], total


def _listing(
    session: Session, model: type[_Listed], where: StatusInDistrict, *, limit: int, offset: int
) -> tuple[list[_Listed], int]:
    query = select(model)
    if where.status is not None:
        query = query.where(model.status == where.status)
    if where.district_id is not None:
        query = query.where(model.district_id == where.district_id)
    return paged(session, query, order_by=[model.id.desc()], limit=limit, offset=offset)


def _opened_columns(given: HelpIn, *, principal: Principal, now: datetime) -> dict[str, Any]:
    """What a new request or offer takes from the district's words: open, as of now."""
    return {
        "resource": given.resource,
        "amount": given.amount,
        "first_day": given.first_day,
        "last_day": given.last_day,
        "note": given.note,
        "status": "open",
        "created_by": principal.username,
        "created_at": now,
        "updated_at": now,
    }


def _read_fields(row: _Listed, codes: dict[int, str]) -> dict[str, Any]:
    """What a request and an offer show alike."""
    return {
        "id": row.id,
        "district_code": codes[row.district_id],
        "resource": row.resource,
        "amount": row.amount,
        "first_day": row.first_day,
        "last_day": row.last_day,
        "note": row.note,
        "status": row.status,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }


def request_read(row: HelpRequest, codes: dict[int, str]) -> HelpRequestRead:
    return HelpRequestRead(matched=row.matched, **_read_fields(row, codes))


def offer_read(row: HelpOffer, codes: dict[int, str]) -> HelpOfferRead:
    return HelpOfferRead(request_id=row.request_id, taken=row.taken, **_read_fields(row, codes))
