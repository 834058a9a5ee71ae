"""Daily figures of the cases domain per (district of report, local day), counted from the raw
rows so that a recount always equals the aggregate the analytics domain keeps.

As the bulletins count them: `new_confirmed` includes the day's conversions (無症狀轉確診), which
are also given apart as `conversions`; a converted case is never a new infection again (its report
day stays its first report). `found_under_control` + `found_on_surface` split
`new_confirmed + new_asymptomatic`. `quarantine_occupancy` is the district's quarantine beds in use.
`reporting_delays` gives the same infections by the day they were first sampled and the day they
were recorded: the reporting triangle the nowcast completes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select, type_coerce
from sqlalchemy.orm import Session

from xietong.cases.models import Case, QuarantineOrder
from xietong.cases.quarantine.service import bed_holders
from xietong.cases.schemas import DAILY_FIGURES
from xietong.cases.service import case_visibility
from xietong.core.principal import Principal
from xietong.screening import metrics as screening_metrics
from xietong.storage.base import UTCDateTime
from xietong.storage.bulk_sql import dialect_of, local_settings
from xietong.storage.local_days import day_number, day_starts

METRICS = DAILY_FIGURES

Cell = tuple[int, date]


def changed_cells(session: Session, *, since: datetime) -> set[Cell]:
    """(district, day) cells whose figures may have changed since `since`."""
    cells: set[Cell] = set()
    for district, report_day, conversion_day in session.execute(
        select(Case.report_district_id, Case.report_day, Case.conversion_day).where(
            Case.updated_at >= since
        )
    ):
        cells.add((district, report_day))
        if conversion_day is not None:
            cells.add((district, conversion_day))
    for district, bed_from, home_from, ended_on in session.execute(
        select(
            QuarantineOrder.district_id,
            QuarantineOrder.bed_from,
            QuarantineOrder.home_from,
            QuarantineOrder.ended_on,
        ).where(QuarantineOrder.updated_at >= since, QuarantineOrder.bed_from.is_not(None))
    ):
        if bed_from is None:
            continue
        day = bed_from
        while day < home_from:
            cells.add((district, day))
            day += timedelta(days=1)
        if ended_on is not None:
            cells.add((district, ended_on))
    return cells


def daily_metrics(
    session: Session, *, cells: Collection[Cell], tz: str
) -> dict[Cell, dict[str, int]]:
    """Every metric of each requested cell (zeros included).

    Days are stored as local days of `tz` when a case or order is written, so `tz` only names the
    zone the caller counts in.
    """
    del tz
    wanted = set(cells)
    result: dict[Cell, dict[str, int]] = {cell: dict.fromkeys(METRICS, 0) for cell in wanted}
    if not wanted:
        return result
    days = sorted({day for _, day in wanted})
    districts = sorted({district for district, _ in wanted})
    for district, day, classification, under_control, count in session.execute(
        select(
            Case.report_district_id,
            Case.report_day,
            Case.initial_classification,
            Case.found_under_control,
            func.count(Case.id),
        )
        .where(Case.report_day.in_(days), Case.report_district_id.in_(districts))
        .group_by(
            Case.report_district_id,
            Case.report_day,
            Case.initial_classification,
            Case.found_under_control,
        )
    ):
        figures = result.get((district, day))
        if figures is None:
            continue
        figures[f"new_{classification}"] += count
        figures["found_under_control" if under_control else "found_on_surface"] += count
    for district, conversion_day, under_control, count in session.execute(
        select(
            Case.report_district_id,
            Case.conversion_day,
            Case.found_under_control,
            func.count(Case.id),
        )
        .where(Case.conversion_day.in_(days), Case.report_district_id.in_(districts))
        .group_by(Case.report_district_id, Case.conversion_day, Case.found_under_control)
    ):
        figures = result.get((district, conversion_day)) if conversion_day else None
        if figures is None:
            continue
        figures["conversions"] += count
        figures["new_confirmed"] += count
        figures["found_under_control" if under_control else "found_on_surface"] += count
    # Beds held on each day (`occupies_bed_on`), every day in one query.
    held = bed_holders(
        session,
        key=QuarantineOrder.district_id,
        days=days,
        where=[QuarantineOrder.district_id.in_(districts)],
    )
    for (district, day), count in held.items():
        figures = result.get((district, day))
        if figures is not None:
            figures["quarantine_occupancy"] = count
    return result


def recorded_between(
    session: Session, *, principal: Principal, since: datetime, until: datetime
) -> int:
    """How many cases the principal may see were recorded in [since, until): the new cases a
    shift's handover reports."""
    query = select(func.count()).where(Case.created_at >= since, Case.created_at < until)
    clause = case_visibility(principal)
    if clause is not None:
        query = query.where(clause)
    return session.scalar(query) or 0


@dataclass(frozen=True)
class DelayCell:
    """New infections of one district of report, first sampled on one day, recorded on one day,
    reported on one day (what a read of fewer days filters on: see `reporting_delays`)."""

    district_id: int
    sampled_on: date
    recorded_on: date
    reported_on: date
    cases: int


def reporting_delays(
    session: Session, *, first_day: date, last_day: date, tz: str
) -> list[DelayCell]:
    """Every case at its first report whose infection was first sampled in [first_day, last_day]
    and that was recorded by the end of `last_day`, by district of report, local day of that
    sampling and local day the case was recorded (a later one is not known yet at `last_day`).

    A screening case was first sampled when its person was first swabbed into a positive tube
    (the pool before the single-tube retest; the screening domain's answer); a case registered
    by a field worker was sampled when detected, at the clinic. A case recorded on a later day
    than it was sampled is what the last days' counts still lack when they are read.

    Counted in the database (one row per cell, not per case): the local days are numbered by
    comparing the instants with each day's start in `tz`. Each cell keeps its cases' day of
    report (the day a case is reported is almost always the day it is recorded, so the cells
    are hardly more): the cells of a read of fewer days up to the same `last_day` are this
    read's sampled and reported on or after its first day, and need no read of their own.
    """
    first_sampled = screening_metrics.first_positive_sample(
        Case.candidate_id, dialect=dialect_of(session)
    )
    # Materialised: the first sample is a correlated lookup that each day's comparison would
    # otherwise repeat (both databases inline a plain subquery into the outer expressions).
    per_case = (
        select(
            Case.report_district_id.label("district_id"),
            type_coerce(
                # A field case has no candidate: its detection, without the lookup.
                case(
                    (Case.candidate_id.is_(None), Case.detected_at),
                    else_=func.coalesce(first_sampled, Case.detected_at),
                ),
                UTCDateTime,
            ).label("sampled_at"),
            Case.created_at.label("created_at"),
            Case.report_day.label("report_day"),
        )
        .where(Case.report_day >= first_day)
        .cte("per_case")
        .prefix_with("MATERIALIZED")
    )
    starts = day_starts(first_day, last_day, tz)
    sampled_on = day_number(per_case.c.sampled_at, starts)
    created_on = day_number(per_case.c.created_at, starts)
    # Recorded before its sampling day (a clock ahead, a back-dated detection): that same day.
    recorded_on = case((created_on < sampled_on, sampled_on), else_=created_on)
    numbered = (
        select(
            per_case.c.district_id,
            sampled_on.label("sampled_on"),
            recorded_on.label("recorded_on"),
            per_case.c.report_day,
        )
        .where(
            per_case.c.sampled_at >= starts[0],
            per_case.c.sampled_at < starts[-1],
            per_case.c.created_at < starts[-1],
        )
        .subquery()
    )
    keys = (
        numbered.c.district_id,
        numbered.c.sampled_on,
        numbered.c.recorded_on,
        numbered.c.report_day,
    )
    counted = select(*keys, func.count()).group_by(*keys)
    # PostgreSQL costs the lookup per case far above its few milliseconds, and compiling the
    # query for that cost (JIT) took 175 ms of a 213 ms answer at half a million persons.
    with local_settings(session, jit="off"):
        rows = session.execute(counted).all()
    cells = [
        DelayCell(
            district,
            first_day + timedelta(days=sampled),
            first_day + timedelta(days=recorded),
            reported,
            count,
        )
        for district, sampled, recorded, reported, count in rows
    ]
    return sorted(cells, key=lambda c: (c.district_id, c.sampled_on, c.recorded_on, c.reported_on))
