"""Quarantine places, laboratories, capacity reports and mutual-aid plans for tests, at fixed times.

Plans are built from explicit inputs (arrivals, places in use, tubes) so that a test states the
whole situation it checks; districts not named have nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from tests.factories.clock import TZ
from xietong.areas import service as areas_service
from xietong.core.principal import SYSTEM, Principal
from xietong.mutual_aid.plans import service as flows
from xietong.mutual_aid.schemas import PlanRead, PlanRequest
from xietong.resources.models import Facility, Laboratory
from xietong.resources.schemas import CapacityReportIn
from xietong.resources.service import report_capacity

DAY = date(2022, 11, 14)
NOW = datetime(2022, 11, 14, 2, 0, tzinfo=UTC)  # 10:00 in Chongqing
_serial = itertools.count(1)

# Central urban districts, nearest pairs first: 沙坪坝 500106, 九龙坡 500107, 南岸 500108,
# 渝中 500103, 江北 500105, 大渡口 500104.
SHAPINGBA, JIULONGPO, NANAN, YUZHONG = "500106", "500107", "500108", "500103"


def facility(
    session: Session,
    *,
    district_code: str = SHAPINGBA,
    beds: int = 10,
    kind: str = "centralised_quarantine",
    code: str | None = None,
    available_from: date | None = None,
    available_to: date | None = None,
    active: bool = True,
) -> Facility:
    row = Facility(
        code=code or f"RF-{district_code}-{next(_serial):04d}",
        name="集中隔离点",
        district_id=areas_service.get_district(session, code=district_code).id,
        kind=kind,
        beds=beds,
        available_from=available_from,
        available_to=available_to,
        active=active,
        updated_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def laboratory(
    session: Session,
    *,
    district_code: str = SHAPINGBA,
    tubes_per_day: int = 1000,
    code: str | None = None,
) -> Laboratory:
    row = Laboratory(
        code=code or f"RL-{district_code}-{next(_serial):04d}",
        name="核酸检测实验室",
        district_id=areas_service.get_district(session, code=district_code).id,
        tubes_per_day=tubes_per_day,
        active=True,
        updated_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def window(
    session: Session,
    place: Facility | Laboratory,
    *,
    capacity: int,
    first_day: date | None = None,
    last_day: date | None = None,
    principal: Principal = SYSTEM,
) -> None:
    """Report a place's capacity (on some days, or from now on)."""
    report_capacity(
        session,
        principal=principal,
        reports=[
            CapacityReportIn(
                district_code=areas_service.district_code_by_id(session)[place.district_id],
                code=place.code,
                kind=place.kind if isinstance(place, Facility) else "laboratory",  # type: ignore[arg-type]
                capacity=capacity,
                first_day=first_day,
                last_day=last_day,
            )
        ],
        now=NOW,
    )


Series = Mapping[str, Sequence[float]]


def plan_request(
    *,
    days: int = 1,
    first_day: date = DAY,
    contacts: Series | None = None,
    cases: Series | None = None,
    tubes: Series | None = None,
    in_use: Mapping[str, Series] | None = None,
    **options: object,
) -> PlanRequest:
    """A plan stated in full: arrivals per district and day, nothing else unless given."""
    return PlanRequest.model_validate(
        {
            "first_day": first_day,
            "days": days,
            "forecast_new_cases": dict(cases or {}),
            "new_contacts": dict(contacts or {}),
            "planned_tubes": dict(tubes or {}),
            "in_use": {r: dict(v) for r, v in (in_use or {}).items()},
            **options,
        }
    )


def propose(session: Session, request: PlanRequest, *, principal: Principal = SYSTEM) -> PlanRead:
    return flows.propose_plan(session, principal=principal, request=request, tz=TZ, now=NOW)
