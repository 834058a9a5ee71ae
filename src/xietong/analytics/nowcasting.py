"""The nowcast of the last days' new infections: each district's reporting triangle (the day an
infection was first sampled × the days until its case was recorded) read from the cases and
screening domains' own timestamps, completed by the chain-ladder of `core.nowcast`, as the data
stand now or as they stood at the end of any earlier day (what a backtest must read).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
from sqlalchemy.orm import Session

from xietong.analytics.core.arrays import FloatArray
from xietong.analytics.core.nowcast import Nowcast, chain_ladder, nowcast
from xietong.areas import service as areas_service
from xietong.cases import metrics as cases_metrics
from xietong.core.clock import DEFAULT_TZ

#: Columns of the chain-ladder's triangle: recorded 0 … 6 days after sampling, and 7 or more.
DELAY_COLUMNS: Final = 8
#: Days before the first day shown that the triangle reads: the band learns from the nowcasts of
#: these earlier days (`core.nowcast.nowcast`'s ``past_days``) once their rows are complete.
HISTORY_DAYS: Final = 28 + DELAY_COLUMNS
#: The band's quantile levels (a 90 % band).
LEVELS: Final = (0.05, 0.95)


@dataclass(frozen=True)
class ReportingTriangle:
    """New infections of every district by day first sampled and days until recorded.

    ``cases[i, t, d]``: district ``i`` (by code), first sampled on ``days[t]``, recorded ``d``
    days later (any delay up to the series' length: cutting it at a day is then exact).
    """

    districts: tuple[areas_service.District, ...]
    days: tuple[date, ...]
    cases: FloatArray

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.districts)

    def recorded_by(self, index: int) -> FloatArray:
        """Cases per district and sampling day (districts × ``index + 1`` days) recorded by the
        end of ``days[index]``: the series as it was known then."""
        t = np.arange(index + 1)[:, None]
        d = np.arange(self.cases.shape[2])[None, :]
        known = t + d <= index
        recorded: FloatArray = np.where(known, self.cases[:, : index + 1], 0.0).sum(axis=2)
        return recorded

    def final(self) -> FloatArray:
        """Cases per district and sampling day (districts × days) recorded so far."""
        total: FloatArray = self.cases.sum(axis=2)
        return total

    def triangles(self, index: int) -> FloatArray:
        """Each district's chain-ladder triangle as known at the end of ``days[index]``: shape
        (districts, days up to ``index``, `DELAY_COLUMNS`), the last column holding every
        later delay, NaN where not yet known."""
        block = self.cases[:, : index + 1]
        t = np.arange(index + 1)[:, None]
        d = np.arange(block.shape[2])[None, :]
        seen = np.where(t + d <= index, block, 0.0)
        head = seen[..., : DELAY_COLUMNS - 1]
        tail = seen[..., DELAY_COLUMNS - 1 :].sum(axis=-1, keepdims=True)
        lumped = np.concatenate([head, tail], axis=-1)
        columns = np.arange(DELAY_COLUMNS)[None, :]
        result: FloatArray = np.where(t + columns <= index, lumped, np.nan)
        return result

    def triangle(self, index: int, *, rows: slice | int | None = None) -> FloatArray:
        """The triangle of `triangles` summed over the districts ``rows`` (all when None)."""
        picked = self.triangles(index)[slice(None) if rows is None else rows]
        return _summed(picked.reshape(-1, *picked.shape[-2:]))

    def completed(self, index: int) -> FloatArray:
        """The series as known at the end of ``days[index]`` with its last days completed by
        the chain-ladder of each district's own triangle (districts × ``index + 1`` days)."""
        return chain_ladder(self.triangles(index))


def _summed(triangles: FloatArray) -> FloatArray:
    """The sum of triangles of one shape: NaN where they are not yet known."""
    total: FloatArray = np.where(np.isnan(triangles[0]), np.nan, np.nansum(triangles, axis=0))
    return total


class DelayReads:
    """The reporting delays one view reads, each range of days read once: the overview's trend
    reads the 64 days of its nowcast and its forecast the last 28 of them, which are cut from
    the first read (`cases.metrics.reporting_delays` says how) instead of counting every case of
    those weeks again (a second read was a third of the first view after a refresh, at 100,000
    cases)."""

    def __init__(self) -> None:
        self._read: dict[tuple[date, date, str], list[cases_metrics.DelayCell]] = {}

    def cells(
        self, session: Session, *, first_day: date, last_day: date, tz: str
    ) -> list[cases_metrics.DelayCell]:
        for (first, last, zone), cells in self._read.items():
            if last == last_day and zone == tz and first <= first_day:
                return [
                    c for c in cells if c.sampled_on >= first_day and c.reported_on >= first_day
                ]
        read = cases_metrics.reporting_delays(
            session, first_day=first_day, last_day=last_day, tz=tz
        )
        self._read[(first_day, last_day, tz)] = read
        return read


def reporting_triangle(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    tz: str = DEFAULT_TZ,
    reads: DelayReads | None = None,
) -> ReportingTriangle:
    """Read the reporting triangle of [first_day, last_day] from the cases domain (through
    `reads` when given: the view's reads of the delays)."""
    districts = tuple(areas_service.list_districts(session))
    row_of = {d.id: i for i, d in enumerate(districts)}
    length = (last_day - first_day).days + 1
    days = tuple(first_day + timedelta(days=k) for k in range(length))
    cases = np.zeros((len(districts), length, max(length, DELAY_COLUMNS)))
    for cell in (reads or DelayReads()).cells(
        session, first_day=first_day, last_day=last_day, tz=tz
    ):
        delay = (cell.recorded_on - cell.sampled_on).days
        t = (cell.sampled_on - first_day).days
        # Recorded after the last day: not known yet at any day the triangle covers.
        if cell.district_id in row_of and t + delay <= length - 1:
            cases[row_of[cell.district_id], t, delay] += cell.cases
    return ReportingTriangle(districts=districts, days=days, cases=cases)


@dataclass(frozen=True)
class NowcastSeries:
    """New infections by the day first sampled, as recorded so far and as nowcast, per district
    (by code; arrays of shape (districts, days)) and for the city (`city`, the districts' sum
    nowcast on its own triangle), each banded at `LEVELS`."""

    days: tuple[date, ...]
    codes: tuple[str, ...]
    reported: FloatArray
    expected: FloatArray
    lower: FloatArray
    upper: FloatArray
    city: Nowcast


def nowcast_series(
    session: Session,
    *,
    first_day: date,
    last_day: date,
    tz: str = DEFAULT_TZ,
    reads: DelayReads | None = None,
) -> NowcastSeries | None:
    """The nowcast of the cases first sampled in [first_day, last_day], as known at the end of
    `last_day`, each unit banded by the errors the chain-ladder made on its own earlier days;
    None when the cases domain holds no case over those days and the weeks before (a city that
    imports its counts)."""
    read = reporting_triangle(
        session,
        first_day=first_day - timedelta(days=HISTORY_DAYS),
        last_day=last_day,
        tz=tz,
        reads=reads,
    )
    if not read.cases.any():
        return None
    last = len(read.days) - 1
    shown = slice(HISTORY_DAYS, None)
    districts = read.triangles(last)
    # The districts and the city in one call: every triangle banded by its own errors.
    every = nowcast(np.concatenate([districts, _summed(districts)[None]]), levels=LEVELS)

    def stacked(field: str) -> FloatArray:
        values: FloatArray = getattr(every, field)[:-1, shown]
        return values

    city = Nowcast(
        reported=every.reported[-1, shown],
        expected=every.expected[-1, shown],
        lower=every.lower[-1, shown],
        upper=every.upper[-1, shown],
        levels=every.levels,
    )
    return NowcastSeries(
        days=read.days[shown],
        codes=read.codes,
        reported=stacked("reported"),
        expected=stacked("expected"),
        lower=stacked("lower"),
        upper=stacked("upper"),
        city=city,
    )
