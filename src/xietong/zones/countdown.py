"""Loading what the lifting countdown needs, set-based: infections and negative screening days as
buildings × days matrices, then the pure rules on top (one query each, whatever the number of
buildings), for the daily evaluation, the public list and the what-if.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import chain
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Date, Integer, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from xietong.policy import service as policy_service
from xietong.zones import rules
from xietong.zones.adapters import (
    ScreenedThroughout,
    ScreeningSource,
    id_in,
    screened_throughout_source,
    screening_source,
    throughout_from_days,
)
from xietong.zones.models import BuildingInfection
from xietong.zones.schemas import ScreeningAvailability

# julianday('0001-01-01') is 1721425.5, and that day is ordinal 1.
_JULIAN_DAY_BEFORE_ORDINAL_ONE = 1721424.5
# Above this many buildings one scan of the window's infections beats a long IN list.
_IN_LIST_LIMIT = 2_000


def resolve_screening(
    screening: ScreeningSource | None, *, required: bool
) -> tuple[ScreeningSource | None, ScreeningAvailability]:
    """The source of negative screening days to use, and how it was found."""
    if not required:
        return None, "not_required"
    if screening is not None:
        return screening, "given"
    source = screening_source()
    return (source, "screening") if source is not None else (None, "unavailable")


def resolve_screened_throughout(
    *,
    screening: ScreeningSource | None,
    throughout: ScreenedThroughout | None,
    required: bool,
) -> tuple[ScreenedThroughout | None, ScreeningAvailability]:
    """The source of buildings screened negative throughout a window, and how it was found: the
    one given, else one asked of the given source of days, else the screening domain's."""
    if not required:
        return None, "not_required"
    if throughout is not None:
        return throughout, "given"
    if screening is not None:
        return throughout_from_days(screening), "given"
    source = screened_throughout_source()
    return (source, "screening") if source is not None else (None, "unavailable")


class _Rows:
    """Maps building ids (unique, any order) to their row."""

    def __init__(self, building_ids: Sequence[int]) -> None:
        self.ids = np.asarray(building_ids, dtype=np.int64)
        self._order = np.argsort(self.ids, kind="stable")
        self._sorted = self.ids[self._order]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def rows_of(self, ids: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        if len(self) == 0:
            return np.zeros(ids.shape, dtype=np.int64), np.zeros(ids.shape, dtype=np.bool_)
        position = np.clip(np.searchsorted(self._sorted, ids), 0, len(self) - 1)
        known = self._sorted[position] == ids
        return self._order[position], known


def infection_matrices(
    session: Session, *, building_ids: Sequence[int], first_day: date, last_day: date
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(infected, surface) for each building and day: a new infection, and one on the surface."""
    rows = _Rows(building_ids)
    days = (last_day - first_day).days + 1
    infected = np.zeros((len(rows), days), dtype=np.bool_)
    surface = np.zeros((len(rows), days), dtype=np.bool_)
    if len(rows) == 0 or days <= 0:
        return infected, surface
    table = BuildingInfection.__table__
    # Core columns: no ORM bookkeeping per row, which counts at a hundred thousand buildings.
    query = select(table.c.building_id, table.c.day, table.c.on_surface).where(
        table.c.day >= first_day, table.c.day <= last_day
    )
    if len(rows) <= _IN_LIST_LIMIT:
        query = query.where(id_in(table.c.building_id, rows.ids.tolist(), session=session))
    found = session.execute(query).all()
    if not found:
        return infected, surface
    column_of = _Columns(first_day, days)
    building_ids_found, days_found, on_surface_found = zip(*found, strict=True)
    buildings = np.fromiter(building_ids_found, dtype=np.int64, count=len(found))
    columns = np.fromiter(map(column_of.__getitem__, days_found), dtype=np.int64, count=len(found))
    on_surface = np.fromiter(map(bool, on_surface_found), dtype=np.bool_, count=len(found))
    row, known = rows.rows_of(buildings)
    known &= columns >= 0
    infected[row[known], columns[known]] = True
    surface[row[known & on_surface], columns[known & on_surface]] = True
    return infected, surface


class _Columns(dict[date, int]):
    """Day → column of the window; a day outside it is column -1."""

    def __init__(self, first_day: date, days: int) -> None:
        super().__init__((first_day + timedelta(days=offset), offset) for offset in range(days))

    def __missing__(self, day: date) -> int:
        return -1


def negative_matrix(
    session: Session,
    *,
    building_ids: Sequence[int],
    first_day: date,
    last_day: date,
    source: ScreeningSource | None,
) -> NDArray[np.bool_]:
    """For each building and day: sampled, and every result negative (all False without source)."""
    rows = _Rows(building_ids)
    days = (last_day - first_day).days + 1
    negative = np.zeros((len(rows), max(days, 0)), dtype=np.bool_)
    if source is None or len(rows) == 0 or days <= 0:
        return negative
    found = source(
        session, building_ids=[int(b) for b in rows.ids], first_day=first_day, last_day=last_day
    )
    if not found:
        return negative
    sizes = np.fromiter(map(len, found.values()), dtype=np.int64, count=len(found))
    buildings = np.repeat(np.fromiter(found.keys(), dtype=np.int64, count=len(found)), sizes)
    # Days outside the window (a source may return more) map to -1 and are dropped.
    column_of = _Columns(first_day, days)
    columns = np.fromiter(
        map(column_of.__getitem__, chain.from_iterable(found.values())),
        dtype=np.int64,
        count=int(sizes.sum()),
    )
    row, known = rows.rows_of(buildings)
    keep = known & (columns >= 0)
    negative[row[keep], columns[keep]] = True
    return negative


def last_infection_days(
    session: Session, *, building_ids: Sequence[int], on_or_before: date
) -> dict[int, date]:
    """The day of each building's most recent infection up to `on_or_before`."""
    if not building_ids:
        return {}
    rows = session.execute(
        select(BuildingInfection.building_id, func.max(BuildingInfection.day))
        .where(
            BuildingInfection.building_id.in_(list(building_ids)),
            BuildingInfection.day <= on_or_before,
        )
        .group_by(BuildingInfection.building_id)
    )
    return {int(b): d for b, d in rows}


def countdown_on(
    session: Session,
    *,
    building_ids: Sequence[int],
    countable_from: Sequence[date],
    day: date,
    rule: rules.LiftingRule,
    source: ScreeningSource | None,
) -> rules.Countdown:
    """The countdown of each building on `day`, over the window of the policy's clean days."""
    first = day - timedelta(days=rule.clean_days - 1)
    infected, _ = infection_matrices(
        session, building_ids=building_ids, first_day=first, last_day=day
    )
    negative = (
        negative_matrix(
            session, building_ids=building_ids, first_day=first, last_day=day, source=source
        )
        if rule.requires_negative_screening
        else None
    )
    starts = (
        np.fromiter(map(date.toordinal, countable_from), dtype=np.int64, count=len(countable_from))
        - first.toordinal()
    )
    return rules.lifting_countdown(
        infected=infected, negative=negative, countable_from=starts, rule=rule
    )


def day_ordinal(column: Any, *, session: Session) -> ColumnElement[int]:
    """A date column as its proleptic ordinal (`date.toordinal`), computed by the database: a
    hundred thousand dates arrive as plain integers instead of being parsed one by one."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column - literal(date(1, 1, 1), Date) + 1, Integer)
    return cast(func.julianday(column) - _JULIAN_DAY_BEFORE_ORDINAL_ONE, Integer)


def could_be_due(
    *, building_id: Any, countable_from: Any, day: date, rule: rules.LiftingRule
) -> ColumnElement[bool]:
    """In SQL: whether a locked building could be due on `day` at all — its count started by
    the window's first day, and no infection in the window (a clean day needs both), so that
    the database rules out most buildings on its indexes before any row is read."""
    first = day - timedelta(days=rule.clean_days - 1)
    infections = BuildingInfection.__table__
    infected = (
        select(infections.c.id)
        .where(
            infections.c.building_id == building_id,
            infections.c.day >= first,
            infections.c.day <= day,
        )
        .exists()
    )
    return and_(countable_from <= first, ~infected)


def due_on(
    session: Session,
    *,
    building_ids: Sequence[int],
    countable_from: NDArray[np.int64],
    day: date,
    rule: rules.LiftingRule,
    source: ScreenedThroughout | None,
) -> NDArray[np.bool_]:
    """Which of the buildings `could_be_due` selected (`countable_from` as day ordinals) have
    had the policy's clean days up to `day`: the screening source is asked about them only,
    and only which were negative on every day of the window (none had an infection in it,
    and each count started by its first day, so no other day can be clean)."""
    first = day - timedelta(days=rule.clean_days - 1)
    # None of them had an infection in the window: `could_be_due` kept only those.
    infected = np.zeros((len(building_ids), rule.clean_days), dtype=np.bool_)
    if not building_ids:
        return np.zeros(0, dtype=np.bool_)
    negative = None
    if rule.requires_negative_screening:
        screened = (
            source(session, building_ids=building_ids, first_day=first, last_day=day)
            if source is not None
            else set()
        )
        throughout = np.isin(
            np.asarray(building_ids, dtype=np.int64),
            np.fromiter(screened, dtype=np.int64, count=len(screened)),
        )
        negative = np.repeat(throughout[:, None], rule.clean_days, axis=1)
    result = rules.lifting_countdown(
        infected=infected,
        negative=negative,
        countable_from=np.asarray(countable_from, dtype=np.int64) - first.toordinal(),
        rule=rule,
    )
    return result.due


@dataclass(frozen=True)
class Outlook:
    """Where a locked area stands today."""

    clean_days_so_far: int  # complete clean days up to yesterday
    earliest_lifting_on: date  # if no infection comes and every round is negative


def lifting_outlook(
    session: Session,
    *,
    building_ids: Sequence[int],
    countable_from: Sequence[date],
    today: date,
    screening: ScreeningSource | None = None,
) -> list[Outlook]:
    """For locked buildings: clean days so far and the earliest possible lifting day."""
    if not building_ids:
        return []
    rule = rules.LiftingRule.from_policy(
        policy_service.policy_in_force(session, day=today).risk_area
    )
    source, _ = resolve_screening(screening, required=rule.requires_negative_screening)
    yesterday = today - timedelta(days=1)
    before = countdown_on(
        session,
        building_ids=building_ids,
        countable_from=countable_from,
        day=yesterday,
        rule=rule,
        source=source,
    )
    starts = np.fromiter(
        ((start - today).days for start in countable_from),
        dtype=np.int64,
        count=len(countable_from),
    )
    # Today is not complete, but an infection already found today keeps it from counting.
    infected_today, _ = infection_matrices(
        session, building_ids=building_ids, first_day=today, last_day=today
    )
    hit = infected_today[:, 0]
    offsets = rules.earliest_lifting_offsets(
        streak_before=before.clean_streak, countable_from=starts, infected_today=hit, rule=rule
    )
    streaks = np.where(hit, 0, before.clean_streak)
    return [
        Outlook(
            clean_days_so_far=int(min(streak, rule.clean_days)),
            earliest_lifting_on=today + timedelta(days=int(offset)),
        )
        for streak, offset in zip(streaks, offsets, strict=True)
    ]
