"""What mutual aid reads from and writes to other domains, through their service functions only:
beds in use (cases), the forecast of new cases the pages show (analytics), tubes planned
(screening) and the deliveries to districts (outbox). One module, so that the contracts it
relies on are in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from xietong.analytics import expected as analytics_expected
from xietong.analytics import page_results
from xietong.analytics.core.arrays import FloatArray
from xietong.cases.quarantine import service as quarantine_service
from xietong.core.errors import NotFound
from xietong.outbox import service as outbox_service
from xietong.screening import service as screening_service


def bed_occupancy(session: Session, *, days: Sequence[date]) -> list[dict[int, dict[str, int]]]:
    """Beds held on each day by quarantine orders: district of the bed → facility kind → beds."""
    return quarantine_service.bed_occupancy_by_day(session, days=days)


def forecast_history(
    session: Session, *, last_day: date, tz: str
) -> analytics_expected.ExpectedInputs | None:
    """The history the forecast page forecasts from on `last_day` (`analytics.expected`): the
    nowcast-completed cases by the day first sampled, or the official counts, or the daily
    aggregates; None while no count exists (the page then says there is nothing to forecast)."""
    try:
        return analytics_expected.expected_inputs(session, last_day=last_day, tz=tz)
    except NotFound as exc:
        if exc.code != "no_case_counts":
            raise
        return None


def forecast_quantiles(
    session: Session, history: analytics_expected.ExpectedInputs, *, horizon_days: int
) -> FloatArray:
    """The pages' forecast of `history` at the backtests' levels, within the susceptibles (as
    the refresh job kept them when it did for this history)."""
    return page_results.quantiles(session, history, horizon_days=horizon_days)


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
