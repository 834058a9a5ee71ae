"""Daily screening counts per sampling district and round, for the analytics aggregates, and
when each case candidate's infection was first sampled, for the reporting triangle of the nowcast.

Counted from the raw tubes and results every time, so that a recount always equals the aggregate.
The day of a test is its round: the local day of collection in the deployment's time zone, fixed
when the tube is registered; a result arriving later changes the cell of its sampling day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, and_, case, func, literal, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session

from xietong.screening.models import CaseCandidate, LabResult, RetestTask, Tube
from xietong.storage.base import UTCDateTime

METRICS = ("swabs_sampled", "tubes_sampled", "tubes_resulted", "tubes_positive", "pooled_positives")


def changed_cells(session: Session, *, since: datetime) -> set[tuple[int, date]]:
    """(district, day) cells with a tube registered or a result new or changed since `since`."""
    tubes = select(Tube.district_id, Tube.round_day).where(Tube.created_at >= since).distinct()
    results = (
        select(Tube.district_id, Tube.round_day)
        .join(LabResult, LabResult.tube_id == Tube.id)
        .where(LabResult.updated_at >= since)
        .distinct()
    )
    return {(district, day) for district, day in session.execute(tubes.union(results))}


def daily_metrics(
    session: Session, *, cells: Collection[tuple[int, date]], tz: str
) -> dict[tuple[int, date], dict[str, int]]:
    """The screening metrics of each cell (zeros where nothing was sampled).

    `tz` must be the deployment's zone, in which the rounds were fixed at registration.
    """
    del tz  # the round is stored as a local day already
    found = {cell: dict.fromkeys(METRICS, 0) for cell in cells}
    if not found:
        return found
    districts = sorted({d for d, _ in found})
    days = sorted({day for _, day in found})
    positive = LabResult.outcome == "positive"
    rows = session.execute(
        select(
            Tube.district_id,
            Tube.round_day,
            func.sum(Tube.member_count),
            func.count(Tube.id),
            func.count(LabResult.id),
            func.sum(case((positive, 1), else_=0)),
            func.sum(case((and_(positive, Tube.member_count > 1), 1), else_=0)),
        )
        .outerjoin(LabResult, LabResult.tube_id == Tube.id)
        .where(Tube.district_id.in_(districts), Tube.round_day.in_(days))
        .group_by(Tube.district_id, Tube.round_day)
    )
    for district, day, swabs, tubes, resulted, positives, pooled in rows:
        if (district, day) in found:
            found[district, day] = {
                "swabs_sampled": int(swabs or 0),
                "tubes_sampled": int(tubes),
                "tubes_resulted": int(resulted),
                "tubes_positive": int(positives or 0),
                "pooled_positives": int(pooled or 0),
            }
    return found


def first_positive_sample(
    candidate_id: ColumnElement[Any] | InstrumentedAttribute[Any],
    *,
    dialect: str,
    lookback_days: int = 14,
) -> ColumnElement[datetime]:
    """When the case candidate `candidate_id` (a column of the caller's query) was first swabbed
    into a positive tube within `lookback_days` before its own sample (the positive pool whose
    retest made the candidate, or the candidate's own tube): the sampling that first held the
    infection, from which the nowcast counts the days until it was reported. NULL where there
    is no such candidate.
    """
    window: ColumnElement[Any]
    if dialect == "sqlite":
        # SQLite keeps instants as text: strftime shifts them (to the millisecond).
        window = func.strftime(
            "%Y-%m-%d %H:%M:%f", CaseCandidate.sampled_at, f"-{lookback_days} days"
        )
    else:
        window = CaseCandidate.sampled_at - literal(timedelta(days=lookback_days), Interval())
    # A positive pool's members are retested: the retest task names the pool, found by person
    # through its unique index (never a scan of the memberships).
    earlier = (
        select(func.min(Tube.collected_at))
        .join(RetestTask, RetestTask.source_tube_id == Tube.id)
        .where(
            RetestTask.person_id == CaseCandidate.person_id,
            Tube.collected_at >= window,
            Tube.collected_at <= CaseCandidate.sampled_at,
        )
        .scalar_subquery()
    )
    first = (
        select(type_coerce(func.coalesce(earlier, CaseCandidate.sampled_at), UTCDateTime))
        .where(CaseCandidate.id == candidate_id)
        .scalar_subquery()
    )
    return type_coerce(first, UTCDateTime)
