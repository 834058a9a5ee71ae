"""Daily screening counts per sampling district and round, for the analytics aggregates, and
when each case candidate's infection was first sampled, for the reporting triangle of the nowcast.

Counted from the raw tubes and results every time, so that a recount always equals the aggregate.
The day of a test is its round: the local day of collection in the deployment's time zone, fixed
when the tube is registered; a result arriving later changes the cell of its sampling day.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from xietong.screening.models import CaseCandidate, LabResult, RetestTask, Tube
from xietong.storage.bulk_sql import chunks, dialect_of, member_of

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


def first_positive_samples(
    session: Session, *, candidate_ids: Collection[int], lookback_days: int = 14
) -> dict[int, datetime]:
    """When each case candidate's person was first swabbed into a positive tube within
    `lookback_days` before the candidate's own sample (the positive pool whose retest made the
    candidate, or the candidate's own tube): the sampling that first held the infection, from
    which the nowcast counts the days until it was reported.
    """
    found: dict[int, datetime] = {}
    dialect = dialect_of(session)
    for chunk in chunks(sorted(set(candidate_ids))):
        candidates = session.execute(
            select(CaseCandidate.id, CaseCandidate.person_id, CaseCandidate.sampled_at).where(
                member_of(CaseCandidate.id, chunk, dialect=dialect)
            )
        ).all()
        if not candidates:
            continue
        since = min(sampled for _, _, sampled in candidates) - timedelta(days=lookback_days)
        positives: dict[int, list[datetime]] = {}
        # A positive pool's members are retested: the retest task names the pool, found by
        # person through its unique index (never a scan of the memberships).
        for person, collected in session.execute(
            select(RetestTask.person_id, Tube.collected_at)
            .join(Tube, Tube.id == RetestTask.source_tube_id)
            .where(
                member_of(
                    RetestTask.person_id,
                    sorted({person for _, person, _ in candidates}),
                    dialect=dialect,
                ),
                Tube.collected_at >= since,
            )
        ):
            positives.setdefault(person, []).append(collected)
        for candidate, person, sampled in candidates:
            window = sampled - timedelta(days=lookback_days)
            earlier = [t for t in positives.get(person, ()) if window <= t <= sampled]
            found[candidate] = min([sampled, *earlier])
    return found
