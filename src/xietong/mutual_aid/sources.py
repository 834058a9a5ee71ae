"""What mutual aid reads from and writes to other domains, through their service functions only:
beds in use (cases), new cases per day (cases' daily metrics), tubes planned (screening) and the
deliveries to districts (outbox). One module, so that the contracts it relies on are in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from xietong.areas import service as areas_service
from xietong.cases import metrics as cases_metrics
from xietong.cases.quarantine import service as quarantine_service
from xietong.outbox import service as outbox_service
from xietong.screening import service as screening_service


def bed_occupancy(session: Session, *, days: Sequence[date]) -> list[dict[int, dict[str, int]]]:
    """Beds held on each day by quarantine orders: district of the bed → facility kind → beds."""
    return quarantine_service.bed_occupancy_by_day(session, days=days)


def new_cases(
    session: Session, *, days: Sequence[date], tz: str
) -> dict[date, Mapping[int, float]]:
    """New infections (confirmed and asymptomatic) per district of report on each of `days`.

    A conversion (asymptomatic reclassified as confirmed) is counted in the day's confirmed cases
    but is not a new infection: it is taken out.
    """
    district_ids = sorted(areas_service.district_code_by_id(session))
    cells = [(district_id, day) for district_id in district_ids for day in days]
    counts = cases_metrics.daily_metrics(session, cells=cells, tz=tz)
    result: dict[date, dict[int, float]] = {day: {} for day in days}
    for (district_id, day), metrics in counts.items():
        total = (
            metrics.get("new_confirmed", 0)
            + metrics.get("new_asymptomatic", 0)
            - metrics.get("conversions", 0)
        )
        if total > 0 and day in result:
            result[day][district_id] = float(total)
    return dict(result)


def planned_tubes(
    session: Session, *, days: Sequence[date]
) -> dict[date, Mapping[int, float]] | None:
    """Tubes of the screening plan on each day per district."""
    return {day: screening_service.planned_tubes(session, day=day) for day in days}


def deliver(
    session: Session,
    *,
    topic: str,
    payload: dict[str, Any],
    audience: Sequence[int | None],
    key: str,
    now: datetime,
) -> None:
    """Hand a message to the outbox in the caller's transaction (None: the command centre)."""
    outbox_service.enqueue(
        session,
        topic=topic,
        payload=payload,
        audience_district_ids=list(dict.fromkeys(audience)),
        idempotency_key=key,
        now=now,
    )
