"""Official counts as they stood at a past instant: the figures in force then, from the rows in
force now and the versions corrected imports replaced, so that a backtest on official counts
reads each forecast date's history as it was published by then."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.models import OfficialCount, OfficialCountVersion
from xietong.analytics.official import WHOLE_DAY_MINUTES


@dataclass(frozen=True)
class OfficialVintages:
    """Every published value of new infections per district and whole day, with when it held.

    ``column``, ``row`` place a value in the (days, districts) array; it held from ``start``
    until ``end`` (POSIX seconds; ``end`` infinite for the figures in force now).
    """

    days: int
    districts: int
    row: np.ndarray
    column: np.ndarray
    value: FloatArray
    start: FloatArray
    end: FloatArray

    def as_of(self, instant: datetime) -> FloatArray:
        """New infections per day and district as they stood at ``instant``, shape (days,
        districts): the figures in force then; for a day imported only later (a bulletin read
        the next morning, a history imported in bulk), its figures as first imported, before
        any correction; 0 where nothing was ever published."""
        at = instant.timestamp()
        result = np.zeros((self.days, self.districts))
        # Earliest first, so that where a day has several versions the first one stays.
        first = np.argsort(-self.start, kind="stable")
        result[self.row[first], self.column[first]] = self.value[first]
        held = (self.start <= at) & (at < self.end)
        result[self.row[held], self.column[held]] = self.value[held]
        return result


def official_vintages(
    session: Session, *, first_day: date, last_day: date, district_ids: Sequence[int]
) -> OfficialVintages:
    """The whole-day official counts of ``district_ids`` (in that order) over the days, with
    every earlier version, as new infections (confirmed + asymptomatic − conversions, at
    least 0, as `service.DailySeries.infections`)."""
    column_of = {district: k for k, district in enumerate(district_ids)}
    in_force = select(OfficialCount).where(
        OfficialCount.day >= first_day,
        OfficialCount.day <= last_day,
        OfficialCount.until_minute == WHOLE_DAY_MINUTES,
        OfficialCount.district_id.in_(list(district_ids)),
    )
    replaced = select(OfficialCountVersion).where(
        OfficialCountVersion.day >= first_day,
        OfficialCountVersion.day <= last_day,
        OfficialCountVersion.until_minute == WHOLE_DAY_MINUTES,
        OfficialCountVersion.district_id.in_(list(district_ids)),
    )
    found: list[tuple[OfficialCount | OfficialCountVersion, float]] = [
        (now, np.inf) for now in session.scalars(in_force)
    ]
    found += [(old, old.replaced_at.timestamp()) for old in session.scalars(replaced)]
    rows = [(figures.day - first_day).days for figures, _ in found]
    columns = [column_of[figures.district_id] for figures, _ in found]
    values = [
        max(figures.new_confirmed - figures.conversions + figures.new_asymptomatic, 0)
        for figures, _ in found
    ]
    starts = [figures.imported_at.timestamp() for figures, _ in found]
    ends = [end for _, end in found]
    return OfficialVintages(
        days=(last_day - first_day).days + 1,
        districts=len(district_ids),
        row=np.asarray(rows, dtype=np.intp),
        column=np.asarray(columns, dtype=np.intp),
        value=np.asarray(values, dtype=np.float64),
        start=np.asarray(starts, dtype=np.float64),
        end=np.asarray(ends, dtype=np.float64),
    )
