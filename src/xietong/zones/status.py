"""What follows from a designation: the risk status of a building and of a person's places (with
the screening frequency the policy gives them), the residents of a locked building, and the public
list of high-risk areas, which carries no personal data at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.principal import Permission, Principal
from xietong.people import service as people_service
from xietong.policy import service as policy_service
from xietong.policy.rules import AreaScreeningStatus
from xietong.zones import countdown, service
from xietong.zones.adapters import ScreeningSource
from xietong.zones.models import RiskArea
from xietong.zones.schemas import (
    BuildingRiskStatus,
    PersonRiskStatus,
    PublicRiskArea,
    PublicRiskAreaPage,
    ResidentRead,
    ScreeningFrequency,
)


def _earliest(
    session: Session,
    areas: Sequence[RiskArea],
    *,
    today: date,
    screening: ScreeningSource | None,
) -> dict[int, countdown.Outlook]:
    locked = [a for a in areas if a.active_from is not None]
    outlooks = countdown.lifting_outlook(
        session,
        building_ids=[a.building_id for a in locked],
        countable_from=[a.countdown_from or a.active_from or today for a in locked],
        today=today,
        screening=screening,
    )
    found = {}
    for area, outlook in zip(locked, outlooks, strict=True):
        if area.status == "lifting_proposed":
            # Awaiting the district's approval: it can be lifted today.
            outlook = countdown.Outlook(
                outlook.clean_days_so_far, min(outlook.earliest_lifting_on, today)
            )
        found[area.id] = outlook
    return found


def public_list(
    session: Session,
    *,
    today: date,
    district_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    screening: ScreeningSource | None = None,
) -> PublicRiskAreaPage:
    """The current high-risk areas as the public sees them: place, since when, earliest lifting."""
    query = select(RiskArea).where(service.locked_on(today))
    if district_id is not None:
        query = query.where(RiskArea.district_id == district_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    areas = list(
        session.scalars(
            query.order_by(RiskArea.district_id, RiskArea.active_from, RiskArea.id)
            .limit(limit)
            .offset(offset)
        )
    )
    places = areas_service.buildings_by_id(session, ids=[a.building_id for a in areas])
    outlooks = _earliest(session, areas, today=today, screening=screening)
    districts = {d.id: d for d in areas_service.list_districts(session)}
    policy = policy_service.policy_in_force(session, day=today)
    items = []
    for area in areas:
        place = places[area.building_id]
        assert area.active_from is not None
        items.append(
            PublicRiskArea(
                district_code=districts[area.district_id].code,
                district_name=districts[area.district_id].name_hans,
                address_label=place.address_label,
                designated_on=area.active_from,
                earliest_lifting_on=outlooks[area.id].earliest_lifting_on,
            )
        )
    return PublicRiskAreaPage(
        as_of=today,
        policy_version=policy.version,
        lift_after_clean_days=policy.risk_area.lift_after_clean_days,
        items=items,
        total=total,
        limit=limit,
        offset=offset,
    )


def building_statuses(
    session: Session,
    *,
    building_ids: Sequence[int],
    today: date,
    screening: ScreeningSource | None = None,
) -> dict[int, BuildingRiskStatus]:
    """The risk status of each building today, with its screening frequency under the policy."""
    wanted = sorted(set(building_ids))
    if not wanted:
        return {}
    places = areas_service.buildings_by_id(session, ids=wanted)
    locked = {
        a.building_id: a
        for a in session.scalars(
            select(RiskArea).where(RiskArea.building_id.in_(wanted), service.locked_on(today))
        )
    }
    proposed = {
        a.building_id: a
        for a in session.scalars(
            select(RiskArea).where(RiskArea.building_id.in_(wanted), RiskArea.status == "proposed")
        )
    }
    outlooks = _earliest(session, list(locked.values()), today=today, screening=screening)
    last = countdown.last_infection_days(session, building_ids=wanted, on_or_before=today)
    districts = {d.id: d for d in areas_service.list_districts(session)}
    policy = policy_service.policy_in_force(session, day=today)
    found = {}
    for building_id in wanted:
        place = places.get(building_id)
        if place is None:
            continue
        area = locked.get(building_id) or proposed.get(building_id)
        in_area = building_id in locked
        district = districts[place.district_id]
        status: AreaScreeningStatus = (
            "high_risk_area"
            if in_area
            else "central_urban_area"
            if district.central_urban
            else "other_districts"
        )
        found[building_id] = BuildingRiskStatus(
            building_code=place.code,
            address_label=place.address_label,
            district_code=district.code,
            risk_level="high" if in_area else "low",
            area_id=area.id if area is not None else None,
            area_status=area.status if area is not None else None,
            designated_on=area.active_from if in_area and area is not None else None,
            earliest_lifting_on=outlooks[area.id].earliest_lifting_on
            if in_area and area is not None
            else None,
            last_infection_on=last.get(building_id),
            screening=ScreeningFrequency(
                mode=policy.screening.mode,
                status=status,
                every_days=policy.screening.interval_days.every_days(status),
                single_tube=in_area and policy.screening.single_tube_in_high_risk_areas,
            ),
        )
    return found


def person_status(
    session: Session,
    *,
    principal: Principal,
    person_id: int,
    today: date,
    reason: str | None = None,
    screening: ScreeningSource | None = None,
) -> PersonRiskStatus:
    """Whether a person's residence or current building is locked (a scoped, audited read)."""
    person = people_service.get_person(
        session, principal=principal, person_id=person_id, reason=reason or "risk status"
    )
    places = [b for b in (person.residence_building_id, person.current_building_id) if b]
    statuses = building_statuses(session, building_ids=places, today=today, screening=screening)
    residence = statuses.get(person.residence_building_id or -1)
    current = statuses.get(person.current_building_id or -1)
    return PersonRiskStatus(
        person_id=person.id,
        as_of=today,
        policy_version=policy_service.policy_in_force(session, day=today).version,
        in_high_risk_area=any(s.risk_level == "high" for s in (residence, current) if s),
        residence=residence,
        current=current,
    )


def residents(
    session: Session,
    *,
    principal: Principal,
    area_id: int,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ResidentRead], int]:
    """Residents of an area's building visible to the caller (masked IDs; the read is audited)."""
    principal.require(Permission.read_persons)
    area = service.get_area(session, area_id=area_id)
    persons, total = people_service.residents(
        session, principal=principal, building_id=area.building_id, limit=limit, offset=offset
    )
    people_service.audit_persons(
        session,
        principal=principal,
        action="list",
        ids=[p.id for p in persons],
        reason=f"residents of high-risk area {area.id}",
    )
    codes = areas_service.district_code_by_id(session)
    return [
        ResidentRead(
            id=p.id, id_masked=p.id_masked, current_district_code=codes[p.current_district_id]
        )
        for p in persons
    ], total
