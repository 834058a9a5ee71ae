"""Reading referrals: inbox, outbox and overdue lists, one referral with its chain, its history.

A district sees the referrals to it, from it and that passed through it (another district's are
not found). The person's name, phone, masked ID and address are shown to the receiving district
once it has acknowledged, and to the command centre; the sending district sees status and
feedback. Every read and list is audited, and so is each read of the person behind it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.errors import NotFound, RowError, ValidationFailed
from xietong.core.principal import Principal
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.referrals import sla
from xietong.referrals.models import Handoff, Referral, ReferralEvent
from xietong.referrals.schemas import (
    HandoffRead,
    ReferralEventRead,
    ReferralPerson,
    ReferralRead,
    ReferralSummary,
)
from xietong.referrals.service import (
    REASONS,
    due_soon_clause,
    get_referral,
    overdue_clause,
    require_actor,
    visibility_clause,
)
from xietong.referrals.states import OPEN, Status, allowed_routes

Box = Literal["all", "inbox", "outbox", "overdue", "escalated", "due_soon"]
# `urgent`: open before closed, the earliest deadline (the longest overdue) first;
# `deadline`: the nearest deadline still to come first, then the overdue, then the rest;
# `newest`: the latest pushed first.
Sort = Literal["urgent", "deadline", "newest"]
# Once acknowledged, the receiving district needs the person to find and control them.
_PERSON_SHOWN = frozenset({Status.acknowledged, Status.located, Status.controlled, Status.closed})


def _summary(referral: Referral, codes: dict[int, str], now: datetime) -> ReferralSummary:
    status = Status(referral.status)
    timer = sla.timer(
        status, sla.Deadlines(referral.acknowledge_due_at, referral.control_due_at), now
    )
    return ReferralSummary(
        id=referral.id,
        person_id=referral.person_id,
        reason=referral.reason,
        evidence=referral.evidence,
        status=status,
        from_district_code=codes[referral.from_district_id],
        to_district_code=codes[referral.to_district_id],
        hop=referral.hop,
        created_at=referral.created_at,
        pushed_at=referral.pushed_at,
        acknowledge_due_at=referral.acknowledge_due_at,
        control_due_at=referral.control_due_at,
        next_deadline=timer.deadline,
        seconds_left=int(timer.remaining.total_seconds()) if timer.remaining is not None else None,
        overdue=timer.overdue,
        missed_deadline=sla.missed_deadline(
            status, sla.Deadlines(referral.acknowledge_due_at, referral.control_due_at), now
        ),
        escalated_at=referral.escalated_at,
        assignee=referral.assignee,
        assigned_at=referral.assigned_at,
    )


def _person(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    referral: Referral,
) -> ReferralPerson | None:
    receiving = principal.district_id == referral.to_district_id
    if not (principal.is_city or (receiving and Status(referral.status) in _PERSON_SHOWN)):
        return None
    try:
        person = people_service.get_person(
            session,
            principal=principal,
            person_id=referral.person_id,
            reason=f"referral {referral.id}",
        )
    except NotFound:  # the access grant has run out since the referral was closed
        return None
    read = people_service.to_read(session, person, protector)

    def address(code: str | None) -> str | None:
        return areas_service.get_building(session, code=code).address_label if code else None

    return ReferralPerson(
        name=read.name,
        phone=read.phone,
        id_masked=read.id_masked,
        residence_address=address(read.residence_building_code),
        current_address=address(read.current_building_code),
        residence_district_code=read.residence_district_code,
        current_district_code=read.current_district_code,
    )


def read_referral(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    referral_id: int,
    now: datetime,
) -> ReferralRead:
    """One referral with its chain of hand-offs (audited, and so is the person's read)."""
    referral = get_referral(session, principal=principal, referral_id=referral_id)
    codes = areas_service.district_code_by_id(session)
    chain = session.scalars(
        select(Handoff).where(Handoff.referral_id == referral.id).order_by(Handoff.hop)
    )
    auth_service.record_audit(
        session, principal=principal, action="read", entity="referral", entity_ids=[referral.id]
    )
    return ReferralRead(
        **_summary(referral, codes, now).model_dump(),
        note=referral.note,
        created_by=referral.created_by,
        acknowledged_at=referral.acknowledged_at,
        located_at=referral.located_at,
        controlled_at=referral.controlled_at,
        closed_at=referral.closed_at,
        declined_at=referral.declined_at,
        decline_reason=referral.decline_reason,
        feedback=referral.feedback,
        overdue_at=referral.overdue_at,
        policy_version=referral.policy_version,
        allowed_actions=allowed_routes(
            Status(referral.status),
            principal=principal,
            receiving_district_id=referral.to_district_id,
        ),
        chain=[
            HandoffRead(
                hop=h.hop,
                kind=h.kind,
                from_district_code=codes[h.from_district_id] if h.from_district_id else None,
                to_district_code=codes[h.to_district_id],
                pushed_at=h.pushed_at,
                pushed_by=h.pushed_by,
                note=h.note,
                ended_at=h.ended_at,
                ended_how=h.ended_how,
            )
            for h in chain
        ],
        person=_person(session, principal=principal, protector=protector, referral=referral),
    )


def newest_change(session: Session, *, principal: Principal) -> datetime | None:
    """The instant of the last change to any referral the principal may see (what its lists
    and board are as of), or None when it sees none."""
    require_actor(principal)
    query = select(func.max(Referral.updated_at))
    clause = visibility_clause(principal)
    if clause is not None:
        query = query.where(clause)
    return session.scalar(query)


@dataclass(frozen=True)
class WaitingPair:
    """The referrals from one district to another overdue now, escalated (and still open) and
    due within the hour, with the earliest deadline the overdue ones missed."""

    from_code: str
    to_code: str
    overdue: int
    escalated: int
    oldest_deadline: datetime | None
    due_soon: int


def waiting_by_pair(session: Session, *, principal: Principal, now: datetime) -> list[WaitingPair]:
    """How many referrals the principal may see are overdue now, escalated and due within the
    hour, by pair of districts, most overdue first: the same clauses as the overdue, escalated
    and due-soon lists, counted in one read for a view's tiles, board and map."""
    require_actor(principal)
    overdue = overdue_clause(now)
    escalated = and_(
        Referral.escalated_at.is_not(None), Referral.status.in_([s.value for s in OPEN])
    )
    due_soon = due_soon_clause(now)
    # The deadline an overdue referral missed first (`sla.missed_deadline`): acknowledging, for
    # one still pushed past it; locating and controlling otherwise.
    missed = case(
        (
            and_(Referral.status == Status.pushed.value, Referral.acknowledge_due_at < now),
            Referral.acknowledge_due_at,
        ),
        else_=Referral.control_due_at,
    )
    query = (
        select(
            Referral.from_district_id,
            Referral.to_district_id,
            func.sum(case((overdue, 1), else_=0)),
            func.sum(case((escalated, 1), else_=0)),
            func.min(case((overdue, missed), else_=None)),
            func.sum(case((due_soon, 1), else_=0)),
        )
        .where(or_(overdue, escalated, due_soon))
        .group_by(Referral.from_district_id, Referral.to_district_id)
    )
    clause = visibility_clause(principal)
    if clause is not None:
        query = query.where(clause)
    codes = areas_service.district_code_by_id(session)
    pairs = [
        WaitingPair(codes[sender], codes[receiver], late, raised, oldest, soon)
        for sender, receiver, late, raised, oldest, soon in session.execute(query)
    ]
    return sorted(pairs, key=lambda p: (-p.overdue, -p.escalated, p.from_code, p.to_code))


# A referral is answered when the receiving district closes it with feedback or declines it.
ANSWERS = ("closed", "declined")


def answered_between(
    session: Session, *, principal: Principal, since: datetime, until: datetime
) -> int:
    """How many referrals the principal may see were answered in [since, until): a shift's
    handover reports them."""
    require_actor(principal)
    query = (
        select(func.count())
        .select_from(ReferralEvent)
        .join(Referral, Referral.id == ReferralEvent.referral_id)
        .where(
            ReferralEvent.action.in_(ANSWERS),
            ReferralEvent.at >= since,
            ReferralEvent.at < until,
        )
    )
    clause = visibility_clause(principal)
    if clause is not None:
        query = query.where(clause)
    return session.scalar(query) or 0


def list_referrals(
    session: Session,
    *,
    principal: Principal,
    now: datetime,
    box: Box = "all",
    statuses: list[Status] | None = None,
    reason: str | None = None,
    district_code: str | None = None,
    updated_since: datetime | None = None,
    assignee: str | None = None,
    sort: Sort = "urgent",
    limit: int = 50,
    offset: int = 0,
    audited: bool = True,
    known_total: int | None = None,
) -> tuple[list[ReferralSummary], int]:
    """A page of referrals, most urgent first (open before closed, earliest deadline first), or
    in the order `sort` names; `assignee` keeps those given to that field worker.

    The list is audited; a caller that reads several lists for one page passes `audited=False`
    and writes the audit of them all at once with `audit_listed`. A caller that counted the
    list already (`waiting_by_pair`) passes its `known_total`, and the list is not counted again.

    `inbox`: to the caller's district (command centre: escalated or declined, waiting for it);
    `outbox`: sent by the caller's district; `overdue`: past a deadline now; `escalated`:
    escalated in their current hop and still open; `due_soon`: not overdue, next deadline
    within the hour.
    """
    require_actor(principal)
    query = select(Referral)
    clause = visibility_clause(principal)
    if clause is not None:
        query = query.where(clause)
    open_values = [s.value for s in OPEN]
    mine = principal.district_id
    if box == "inbox":
        if mine is None:
            query = query.where(
                (Referral.escalated_at.is_not(None) & Referral.status.in_(open_values))
                | (Referral.status == Status.declined.value)
            )
        else:
            query = query.where(Referral.to_district_id == mine)
    elif box == "outbox":
        if mine is not None:
            query = query.where(Referral.from_district_id == mine)
    elif box == "overdue":
        query = query.where(overdue_clause(now))
    elif box == "due_soon":
        query = query.where(due_soon_clause(now))
    elif box == "escalated":
        query = query.where(Referral.escalated_at.is_not(None), Referral.status.in_(open_values))
    if statuses:
        query = query.where(Referral.status.in_([s.value for s in statuses]))
    if reason is not None:
        if reason not in REASONS:
            raise ValidationFailed(errors=[RowError("query", "reason", "unknown", reason)])
        query = query.where(Referral.reason == reason)
    if district_code is not None:
        district = areas_service.get_district(session, code=district_code).id
        query = query.where(
            (Referral.to_district_id == district) | (Referral.from_district_id == district)
        )
    if updated_since is not None:
        query = query.where(Referral.updated_at > updated_since)
    if assignee is not None:
        query = query.where(Referral.assignee == assignee)
    total = known_total
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    referrals = list(
        session.scalars(query.order_by(*_order(sort, now)).limit(limit).offset(offset))
    )
    if audited:
        audit_listed(session, principal=principal, referral_ids=[r.id for r in referrals])
    codes = areas_service.district_code_by_id(session)
    return [_summary(r, codes, now) for r in referrals], total


def audit_listed(session: Session, *, principal: Principal, referral_ids: Sequence[int]) -> None:
    """The audit of referrals listed to `principal` (one write, however many lists)."""
    auth_service.record_audit(
        session, principal=principal, action="list", entity="referral", entity_ids=referral_ids
    )


def _order(sort: Sort, now: datetime) -> list[Any]:
    open_values = [s.value for s in OPEN]
    if sort == "newest":
        return [Referral.pushed_at.desc(), Referral.id.desc()]
    if sort == "deadline":
        # The deadline that still runs (`sla.timer`): acknowledging while pushed, locating and
        # controlling while acknowledged or located; none once controlled.
        running = case(
            (Referral.status == Status.pushed.value, Referral.acknowledge_due_at),
            (
                Referral.status.in_([Status.acknowledged.value, Status.located.value]),
                Referral.control_due_at,
            ),
            else_=None,
        )
        group = case(
            (running >= now, 0),
            (running < now, 1),
            (Referral.status.in_(open_values), 2),
            else_=3,
        )
        return [group, running, Referral.id]
    urgency = case(
        (Referral.status == Status.pushed.value, Referral.acknowledge_due_at),
        else_=Referral.control_due_at,
    )
    closed_last = case((Referral.status.in_(open_values), 0), else_=1)
    return [closed_last, urgency, Referral.id]


def history(session: Session, *, principal: Principal, referral_id: int) -> list[ReferralEventRead]:
    """Every event of the referral, oldest first (audited as a read of the referral)."""
    referral = get_referral(session, principal=principal, referral_id=referral_id)
    codes = areas_service.district_code_by_id(session)
    events = session.scalars(
        select(ReferralEvent)
        .where(ReferralEvent.referral_id == referral.id)
        .order_by(ReferralEvent.id)
    )
    auth_service.record_audit(
        session,
        principal=principal,
        action="read",
        entity="referral",
        entity_ids=[referral.id],
        reason="history",
    )
    return [
        ReferralEventRead(
            id=e.id,
            hop=e.hop,
            at=e.at,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            district_code=codes[e.district_id],
            actor=e.actor,
            note=e.note,
            detail=e.detail,
        )
        for e in events
    ]
