"""The persons a screening round missed: due by the day's plan (their building was planned)
and with no swab that round, within what the caller may see. Every person listed is audited
(by `people.service.persons_staying_in`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.errors import NotFound, PermissionDenied
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
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
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PersonRead], int]:
    """Persons staying in a planned building who gave no swab in that day's round (audited)."""
    if not principal.can(Permission.read_persons):
        raise PermissionDenied(f"role {principal.role} may not list persons")
    building = areas_service.get_building(session, code=building_code)
    if principal.district_id is not None and building.district_id != principal.district_id:
        raise NotFound("no such building in your jurisdiction", code="building_not_found")
    planned = session.scalar(
        select(PlannedBuilding.building_id).where(
            PlannedBuilding.building_id == building.id, PlannedBuilding.day == day
        )
    )
    if planned is None:
        return [], 0
    sampled = select(Membership.person_id).where(Membership.round_day == day)
    return people_service.persons_staying_in(
        session,
        principal=principal,
        protector=protector,
        building_id=building.id,
        excluding=sampled,
        at=now,
        reason=f"missed by the screening round of {day.isoformat()} in {building_code}",
        limit=limit,
        offset=offset,
    )
