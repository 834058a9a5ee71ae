"""Risk areas: which buildings are locked, the infections that lock them, and every step of an
area's life (proposed → approved or rejected → active → lifting proposed → lifted).

Other domains ask here whether a building is inside an active high-risk area (the screening plan,
the under-control test of new cases) and report each new infection by building; a surface
infection proposes its building at once. Each step records who, when, why and the policy version
of its day, and the steps someone must act on go to the district through the outbox.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.clock import DEFAULT_TZ, local_day
from xietong.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from xietong.core.principal import Principal, Role
from xietong.policy import service as policy_service
from xietong.zones import notices
from xietong.zones.models import (
    BuildingInfection,
    RiskArea,
    RiskAreaEvent,
)
from xietong.zones.schemas import RiskAreaEventRead, RiskAreaRead
from xietong.zones.vocabulary import ALL_STATUSES as ALL_STATUSES
from xietong.zones.vocabulary import LOCKED_STATUSES as LOCKED_STATUSES
from xietong.zones.vocabulary import OPEN_STATUSES as OPEN_STATUSES

# Who may do what: a district coordinator in its own district, the command centre anywhere;
# a field worker (流調) may propose, never decide.
_DECIDERS = frozenset({Role.command, Role.district_coordinator})
_PROPOSERS = _DECIDERS | {Role.field_worker}


class NeverWidened(DomainError):
    """A request that would make a high-risk area wider than one building."""

    status_code = 422
    code = "area_never_widened"


# --- the contract other domains call -------------------------------------------------------


def locked_on(day: date) -> ColumnElement[bool]:
    """Locked on `day`: designated on or before it and not lifted by then (the lifting day is
    the first unlocked day)."""
    return and_(
        RiskArea.active_from.is_not(None),
        RiskArea.active_from <= day,
        or_(
            RiskArea.status.in_(LOCKED_STATUSES),
            and_(RiskArea.status == "lifted", RiskArea.lifted_on > day),
        ),
    )


def active_high_risk_building_ids(session: Session, *, day: date) -> set[int]:
    """Buildings inside an active high-risk area on `day` (they test daily by single tube)."""
    return set(session.scalars(select(RiskArea.building_id).where(locked_on(day))))


def is_in_active_high_risk_area(
    session: Session, *, building_id: int | None, at: datetime, tz: str = DEFAULT_TZ
) -> bool:
    """Whether `building_id` was locked at the instant `at` (for the under-control test)."""
    # The rule lives with its set-based form, which imports this module's steps.
    from xietong.zones.infections import locked_at

    return locked_at(session, checks=[(building_id, at)], tz=tz)[0]


def record_infection(
    session: Session,
    *,
    building_id: int,
    district_id: int,
    person_id: int,
    detected_at: datetime,
    on_surface: bool,
    case_id: int | None = None,
    tz: str = DEFAULT_TZ,
    now: datetime,
) -> BuildingInfection:
    """Note a new infection in a building (idempotent per person and building): a batch of one
    of `zones.infections.record_infections`, which says what an infection sets off."""
    from xietong.zones.infections import NewInfection, record_infections

    infection = NewInfection(
        building_id=building_id,
        district_id=district_id,
        person_id=person_id,
        detected_at=detected_at,
        on_surface=on_surface,
        case_id=case_id,
    )
    return record_infections(session, infections=[infection], tz=tz, now=now)[0]


# --- the life cycle ------------------------------------------------------------------------


def open_area_of(session: Session, *, building_id: int) -> RiskArea | None:
    return session.scalar(
        select(RiskArea).where(
            RiskArea.building_id == building_id, RiskArea.status.in_(OPEN_STATUSES)
        )
    )


def open_area(
    session: Session,
    *,
    principal: Principal,
    building_code: str | None,
    reason: str,
    designate: bool,
    community_code: str | None = None,
    street_code: str | None = None,
    now: datetime,
    tz: str = DEFAULT_TZ,
) -> RiskArea:
    """Propose one building as a high-risk area (the district approves or rejects it), or with
    `designate` lock it directly from today; a reason is required either way."""
    _require_role(
        principal, _DECIDERS if designate else _PROPOSERS, "designate" if designate else "propose"
    )
    if not reason.strip():
        raise DomainError("a reason is required", code="reason_required")
    building = _one_building(
        session, building_code=building_code, community_code=community_code, street_code=street_code
    )
    _require_district(principal, building.district_id)
    existing = open_area_of(session, building_id=building.id)
    if existing is not None:
        hint = " — approve it instead" if designate and existing.status == "proposed" else ""
        raise Conflict(
            f"building {building.code} already has an open area ({existing.status}){hint}",
            code="area_open",
            details={"area_id": existing.id, "status": existing.status},
        )
    area = _new_area(
        session,
        building_id=building.id,
        district_id=building.district_id,
        principal=principal,
        origin="designation" if designate else "user",
        reason=reason,
        at=now,
        tz=tz,
        case_id=None,
    )
    if area is None:
        raise Conflict(f"building {building.code} already has an open area", code="area_open")
    if designate:
        _activate(area, principal=principal, at=now, tz=tz)
    _step(
        session,
        area,
        step="designated" if designate else "proposed",
        principal=principal,
        at=now,
        tz=tz,
        reason=reason,
    )
    return area


class DecisionOnArea(TypedDict):
    """Who decides on which area, and when: what each decision below is given beside its
    reason (`tz` is the city's local time zone, which sets the day a decision counts from)."""

    principal: Principal
    area_id: int
    now: datetime
    tz: NotRequired[str]


def approve_area(
    session: Session, *, reason: str | None = None, **decision: Unpack[DecisionOnArea]
) -> RiskArea:
    """Approve a proposed area: it is locked from the local day of approval."""
    area = _area_to_decide(
        session, decision, action="approve", allowed=("proposed",), becoming="approved"
    )
    principal, now, tz = _decided_by(decision)
    _activate(area, principal=principal, at=now, tz=tz)
    _step(session, area, step="approved", principal=principal, at=now, tz=tz, reason=reason)
    return area


def reject_area(session: Session, *, reason: str, **decision: Unpack[DecisionOnArea]) -> RiskArea:
    """Reject a proposed area, with the reason."""
    area = _area_to_decide(
        session, decision, action="reject", allowed=("proposed",), becoming="rejected"
    )
    _require_reason(reason, "to reject")
    principal, now, tz = _decided_by(decision)
    area.status = "rejected"
    area.decided_at = now
    area.decided_by = principal.username
    _step(session, area, step="rejected", principal=principal, at=now, tz=tz, reason=reason)
    return area


def lift_area(
    session: Session, *, reason: str | None = None, **decision: Unpack[DecisionOnArea]
) -> RiskArea:
    """Approve a proposed lifting, or lift an active area directly (a reason is then required)."""
    area = _area_to_decide(
        session, decision, action="lift", allowed=LOCKED_STATUSES, becoming="lifted"
    )
    direct = area.status == "active"
    if direct and not (reason and reason.strip()):
        raise DomainError(
            "lifting before the policy's clean days needs a reason", code="reason_required"
        )
    principal, now, tz = _decided_by(decision)
    day = local_day(now, tz)
    if area.active_from is not None and day < area.active_from:
        raise Conflict("an area cannot be lifted before it is locked", code="area_not_yet_locked")
    area.status = "lifted"
    area.lifted_at = now
    area.lifted_by = principal.username
    area.lifted_on = day
    _step(
        session,
        area,
        step="lifted",
        principal=principal,
        at=now,
        tz=tz,
        reason=reason,
        detail={"direct": direct},
    )
    return area


def reject_lifting(
    session: Session, *, reason: str, **decision: Unpack[DecisionOnArea]
) -> RiskArea:
    """Keep the area locked; its clean days count again from tomorrow."""
    area = _area_to_decide(
        session,
        decision,
        action="reject a lifting",
        allowed=("lifting_proposed",),
        becoming="kept locked",
    )
    _require_reason(reason, "to reject a lifting")
    principal, now, tz = _decided_by(decision)
    area.status = "active"
    area.countdown_from = local_day(now, tz) + timedelta(days=1)
    area.lifting_proposed_at = None
    area.lifting_proposed_by = None
    _step(session, area, step="lifting_rejected", principal=principal, at=now, tz=tz, reason=reason)
    return area


# --- reads ---------------------------------------------------------------------------------


def get_area(session: Session, *, area_id: int) -> RiskArea:
    area = session.get(RiskArea, area_id)
    if area is None:
        raise NotFound(f"no risk area {area_id}", code="area_not_found")
    return area


def list_areas(
    session: Session,
    *,
    district_id: int | None = None,
    statuses: Collection[str] | None = None,
    building_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
    known_total: int | None = None,
) -> tuple[list[RiskArea], int]:
    """A page of areas, newest first, and their total (`known_total` when the caller counted
    them already: the areas are not counted again)."""
    query = select(RiskArea)
    if district_id is not None:
        query = query.where(RiskArea.district_id == district_id)
    if statuses:
        query = query.where(RiskArea.status.in_(list(statuses)))
    if building_id is not None:
        query = query.where(RiskArea.building_id == building_id)
    total = known_total
    if total is None:
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    areas = session.scalars(
        query.order_by(RiskArea.proposed_at.desc(), RiskArea.id.desc()).limit(limit).offset(offset)
    )
    return list(areas), total


def area_events(session: Session, *, area_id: int) -> list[RiskAreaEvent]:
    return list(
        session.scalars(
            select(RiskAreaEvent)
            .where(RiskAreaEvent.area_id == area_id)
            .order_by(RiskAreaEvent.at, RiskAreaEvent.id)
        )
    )


def to_reads(session: Session, areas: Sequence[RiskArea]) -> list[RiskAreaRead]:
    places = areas_service.buildings_by_id(session, ids=[a.building_id for a in areas])
    codes = areas_service.district_code_by_id(session)
    reads = []
    for a in areas:
        place = places.get(a.building_id)
        reads.append(
            RiskAreaRead(
                id=a.id,
                building_code=place.code if place else str(a.building_id),
                address_label=place.address_label if place else "",
                district_code=codes[a.district_id],
                level=a.level,
                status=a.status,
                origin=a.origin,
                reason=a.reason,
                policy_version=a.policy_version,
                source_case_id=a.source_case_id,
                proposed_at=a.proposed_at,
                proposed_by=a.proposed_by,
                decided_at=a.decided_at,
                decided_by=a.decided_by,
                active_from=a.active_from,
                countdown_from=a.countdown_from,
                lifting_proposed_at=a.lifting_proposed_at,
                lifting_proposed_by=a.lifting_proposed_by,
                lifted_at=a.lifted_at,
                lifted_by=a.lifted_by,
                lifted_on=a.lifted_on,
            )
        )
    return reads


def event_reads(events: Sequence[RiskAreaEvent]) -> list[RiskAreaEventRead]:
    return [RiskAreaEventRead.model_validate(e) for e in events]


def resolve_building(session: Session, *, building_code: str) -> areas_service.BuildingPlace:
    """The one building a code names; a community's or a street's code is refused clearly."""
    return _one_building(
        session, building_code=building_code, community_code=None, street_code=None
    )


# --- helpers -------------------------------------------------------------------------------


def _one_building(
    session: Session,
    *,
    building_code: str | None,
    community_code: str | None,
    street_code: str | None,
) -> areas_service.BuildingPlace:
    for kind, code in (("community", community_code), ("street", street_code)):
        if code:
            raise NeverWidened(_widened_message(kind, code), details={"field": f"{kind}_code"})
    if not building_code:
        raise NeverWidened(
            "a high-risk area is one building: name it by building_code",
            details={"field": "building_code"},
        )
    try:
        building = areas_service.get_building(session, code=building_code)
    except NotFound:
        wider = areas_service.wider_area_kind(session, code=building_code)
        if wider is not None:
            raise NeverWidened(
                _widened_message(wider, building_code), details={"field": "building_code"}
            ) from None
        raise
    return areas_service.BuildingPlace(
        building.id,
        building.code,
        building.address_label,
        building.district_id,
        building.community_id,
        building.kind,
    )


def _widened_message(kind: str, code: str) -> str:
    return (
        f"{code} is a {kind}: a high-risk area is exactly one building and is never widened to a "
        f"{kind} (二十条); propose each building of the {kind} that must be locked"
    )


def _require_role(principal: Principal, roles: frozenset[Role], action: str) -> None:
    if principal.role not in roles:
        raise PermissionDenied(f"role {principal.role} may not {action} a high-risk area")


def _require_district(principal: Principal, district_id: int) -> None:
    if principal.district_id is not None and principal.district_id != district_id:
        raise PermissionDenied(
            "this building is in another district: a district acts only on its own areas",
            code="other_district",
        )


def _area_to_decide(
    session: Session,
    decision: DecisionOnArea,
    *,
    action: str,
    allowed: Sequence[str],
    becoming: str,
) -> RiskArea:
    principal = decision["principal"]
    _require_role(principal, _DECIDERS, action)
    area = get_area(session, area_id=decision["area_id"])
    _require_district(principal, area.district_id)
    if area.status not in allowed:
        raise Conflict(
            f"area {area.id} is {area.status}: it cannot be {becoming}",
            code="area_wrong_status",
            details={"area_id": area.id, "status": area.status, "expected": list(allowed)},
        )
    return area


def _decided_by(decision: DecisionOnArea) -> tuple[Principal, datetime, str]:
    return decision["principal"], decision["now"], decision.get("tz", DEFAULT_TZ)


def _require_reason(reason: str, action: str) -> None:
    if not reason.strip():
        raise DomainError(f"a reason is required {action}", code="reason_required")


def _new_area(
    session: Session,
    *,
    building_id: int,
    district_id: int,
    principal: Principal,
    origin: str,
    reason: str,
    at: datetime,
    tz: str,
    case_id: int | None,
) -> RiskArea | None:
    version = policy_service.policy_in_force(session, day=local_day(at, tz)).version
    area = RiskArea(
        building_id=building_id,
        district_id=district_id,
        level="high",
        status="proposed",
        origin=origin,
        reason=reason,
        policy_version=version,
        source_case_id=case_id,
        proposed_at=at,
        proposed_by=principal.username,
        created_at=at,
        updated_at=at,
    )
    try:
        with session.begin_nested():
            session.add(area)
            session.flush()
    except IntegrityError:
        # The partial unique index: another open area for the building was written meanwhile.
        return None
    return area


def _activate(area: RiskArea, *, principal: Principal, at: datetime, tz: str) -> None:
    day = local_day(at, tz)
    area.status = "active"
    area.decided_at = at
    area.decided_by = principal.username
    area.active_from = day
    area.countdown_from = day


def _step(
    session: Session,
    area: RiskArea,
    *,
    step: str,
    principal: Principal,
    at: datetime,
    tz: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> RiskAreaEvent:
    day = local_day(at, tz)
    version = policy_service.policy_in_force(session, day=day).version
    area.updated_at = at
    event = RiskAreaEvent(
        area_id=area.id,
        district_id=area.district_id,
        step=step,
        at=at,
        day=day,
        user_id=principal.user_id or None,
        username=principal.username,
        policy_version=version,
        reason=reason,
        detail=detail,
    )
    session.add(event)
    session.flush()
    place = areas_service.buildings_by_id(session, ids=[area.building_id]).get(area.building_id)
    notices.send_step(
        session,
        step=step,
        area_id=area.id,
        district_id=area.district_id,
        place=place,
        at=at,
        day=day,
        policy_version=version,
        reason=reason,
    )
    return event
