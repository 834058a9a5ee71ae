"""The persons a screening round missed: due by the day's plan (their building was planned)
and with no swab that round, within what the caller may see. Every person listed is audited.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.auth import service as auth_service
from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonRead
from xietong.screening.models import Membership, PlannedBuilding


def missed_persons(
    session: Session,
    *,
    principal: Principal,
    protector: PersonalDataProtector,
    day: date,
    building_code: str,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PersonRead], int]:
    """Persons staying in a planned building who gave no swab in that day's round (audited)."""
    if not principal.can(Permission.read_persons):
        raise PermissionDenied(f"role {principal.role} may not list persons")
    building = areas_service.get_building(session, code=building_code)
    if principal.district_id is not None and building.district_id != principal.district_id:
        raise NotFound("no such building in your jurisdiction", code="building_not_found")
    sampled = exists().where(Membership.round_day == day, Membership.person_id == Person.id)
    query = (
        people_service.visible_persons(principal)
        .join(
            PlannedBuilding,
            and_(
                PlannedBuilding.building_id == Person.current_building_id,
                PlannedBuilding.day == day,
            ),
        )
        .where(Person.current_building_id == building.id, ~sampled)
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    persons = list(session.scalars(query.order_by(Person.id).limit(limit).offset(offset)))
    auth_service.record_audit(
        session,
        principal=principal,
        action="list",
        entity="person",
        entity_ids=[p.id for p in persons],
        reason=f"missed by the screening round of {day.isoformat()} in {building_code}",
    )
    return [people_service.to_read(session, p, protector) for p in persons], total
