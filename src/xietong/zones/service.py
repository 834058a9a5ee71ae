"""Risk areas: which buildings are locked, and the infections that lock them.

Other domains ask here whether a building is inside an active high-risk area (the screening plan,
the under-control test of new cases) and report each new infection by building.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from xietong.core.clock import local_day, utcnow
from xietong.zones.models import LOCKED_STATUSES, BuildingInfection, RiskArea

DEFAULT_TZ = "Asia/Shanghai"


def _locked_on(day: date) -> ColumnElement[bool]:
    # Locked on `day`: active (or awaiting lifting) from a day not after it, and not lifted yet.
    return and_(
        RiskArea.status.in_(LOCKED_STATUSES),
        RiskArea.active_from.is_not(None),
        RiskArea.active_from <= day,
    )


def active_high_risk_building_ids(session: Session, *, day: date) -> set[int]:
    """Buildings inside an active high-risk area on `day` (they test daily by single tube)."""
    return set(session.scalars(select(RiskArea.building_id).where(_locked_on(day))))


def is_in_active_high_risk_area(
    session: Session, *, building_id: int | None, at: datetime, tz: str = DEFAULT_TZ
) -> bool:
    """Whether `building_id` was locked at the instant `at` (for the under-control test)."""
    if building_id is None:
        return False
    row = session.scalar(
        select(RiskArea.id)
        .where(
            RiskArea.building_id == building_id,
            RiskArea.active_from.is_not(None),
            RiskArea.active_from <= local_day(at, tz),
            or_(
                RiskArea.status.in_(LOCKED_STATUSES),
                and_(RiskArea.status == "lifted", RiskArea.lifted_at > at),
            ),
        )
        .limit(1)
    )
    return row is not None


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
) -> BuildingInfection:
    """Note a new infection in a building (idempotent per person and building)."""
    existing = session.scalar(
        select(BuildingInfection).where(
            BuildingInfection.person_id == person_id, BuildingInfection.building_id == building_id
        )
    )
    if existing is not None:
        return existing
    infection = BuildingInfection(
        building_id=building_id,
        district_id=district_id,
        person_id=person_id,
        case_id=case_id,
        detected_at=detected_at,
        day=local_day(detected_at, tz),
        on_surface=on_surface,
        created_at=utcnow(),
    )
    session.add(infection)
    session.flush()
    return infection
