"""The screening plan of a day, composed from the zones' high-risk buildings and screening's plan.

The screening domain never asks zones itself (zones depends on screening for the lifting check);
this flow reads the buildings locked on the day and hands them to `screening.service`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.core.principal import Principal
from xietong.screening import service as screening_service
from xietong.screening.schemas import PlanRead
from xietong.zones import service as zones_service


def issue_plan(
    session: Session,
    *,
    principal: Principal,
    day: date,
    now: datetime,
    wind_down_first_rounds: Mapping[int, date] | None = None,
) -> PlanRead:
    """Issue (or re-issue, after a designation or a lifting) the plan of `day`."""
    high_risk = zones_service.active_high_risk_building_ids(session, day=day)
    plan = screening_service.issue_plan(
        session,
        principal=principal,
        day=day,
        high_risk_building_ids=high_risk,
        wind_down_first_rounds=wind_down_first_rounds,
        now=now,
    )
    return screening_service.plan_read(
        session,
        principal=principal,
        day=day,
        entries=screening_service.stored_entries(session, day=day),
        plan=plan,
        high_risk_buildings=len(high_risk),
        limit=0,
    )


def read_plan(
    session: Session,
    *,
    principal: Principal,
    day: date,
    district_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
    wind_down_first_rounds: Mapping[int, date] | None = None,
) -> PlanRead:
    """The issued plan of `day`, or — before it is issued — what it would be now (a preview).

    The preview is computed for the district shown (the caller's, or the one asked for) only:
    the figures are the city preview's of that district, without reading the city's persons.
    """
    plan = screening_service.get_issued_plan(session, day=day)
    if plan is not None:
        entries = screening_service.stored_entries(session, day=day)
        high_risk = plan.high_risk_buildings
    else:
        locked = zones_service.active_high_risk_building_ids(session, day=day)
        shown = principal.district_id
        if shown is None and district_code is not None:
            shown = areas_service.get_district(session, code=district_code).id
        entries = screening_service.compute_plan(
            session,
            day=day,
            high_risk_building_ids=locked,
            wind_down_first_rounds=wind_down_first_rounds,
            district_id=shown,
        )
        high_risk = len(locked)
    return screening_service.plan_read(
        session,
        principal=principal,
        day=day,
        entries=entries,
        plan=plan,
        high_risk_buildings=high_risk,
        district_code=district_code,
        limit=limit,
        offset=offset,
    )
