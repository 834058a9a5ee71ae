"""Official counts read as they stood at a date: a correction imported later is not what a
forecast of an earlier date read, and the backtest on official counts reads them so."""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.factories.analytics import official_csv, split_by_reference_shares
from xietong.analytics import backtests, official
from xietong.analytics.official_vintages import official_vintages
from xietong.analytics.service import daily_series
from xietong.core.principal import SYSTEM

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _import(session: Session, rows: list[dict[str, object]], *, at: datetime) -> None:
    official.import_official_counts(
        session,
        principal=SYSTEM,
        stream=io.StringIO(official_csv(rows)),
        source_name="bulletin.csv",
        now=at,
    )


def _rows(first: date, days: int, *, scale: float = 1.0) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for k in range(days):
        total = round(scale * 50 * math.exp(0.15 * min(k, 25) - 0.08 * max(k - 25, 0)))
        for code, count in split_by_reference_shares(total).items():
            rows.append(
                {
                    "district": code,
                    "day": (first + timedelta(days=k)).isoformat(),
                    "new_confirmed": count,
                    "new_asymptomatic": 0,
                }
            )
    return rows


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def test_a_day_reads_as_it_stood_before_its_correction_and_as_corrected_after(
    session: Session,
) -> None:
    first = date(2022, 10, 1)
    _import(session, _rows(first, 4), at=datetime(2022, 10, 5, 1, tzinfo=UTC))
    corrected = [row for row in _rows(first, 4, scale=3.0) if row["day"] == "2022-10-02"]
    _import(session, corrected, at=datetime(2022, 10, 20, 1, tzinfo=UTC))
    _import(session, _rows(first, 5)[-len(corrected) :], at=datetime(2022, 10, 6, 1, tzinfo=UTC))
    series = daily_series(session, first_day=first, last_day=date(2022, 10, 5))
    ids = [district.id for district in series.districts]

    vintages = official_vintages(
        session, first_day=first, last_day=date(2022, 10, 5), district_ids=ids
    )
    now = series.infections().T
    before = vintages.as_of(_end_of(date(2022, 10, 10)))
    after = vintages.as_of(_end_of(date(2022, 10, 25)))

    np.testing.assert_array_equal(after, now)  # what is in force now
    assert 3 * before[1].sum() == pytest.approx(now[1].sum(), abs=len(ids))
    np.testing.assert_array_equal(np.delete(before, 1, axis=0), np.delete(now, 1, axis=0))
    # Imported only after the date (read the next morning): as first imported.
    early = vintages.as_of(_end_of(date(2022, 10, 2)))
    np.testing.assert_array_equal(early, before)


def test_the_backtest_on_official_counts_reads_each_dates_history_as_it_stood(
    session: Session,
) -> None:
    first = date(2022, 10, 1)
    _import(session, _rows(first, 45), at=datetime(2022, 10, 1, tzinfo=UTC))
    # Days 10 - 20 October corrected upward long after every forecast date of the backtest.
    late = [r for r in _rows(first, 45, scale=2.0) if "2022-10-10" <= str(r["day"]) <= "2022-10-20"]
    _import(session, late, at=datetime(2023, 1, 1, tzinfo=UTC))
    series = daily_series(session, first_day=date(2022, 10, 4), last_day=date(2022, 11, 8))
    as_first_published = official_vintages(
        session,
        first_day=date(2022, 10, 4),
        last_day=date(2022, 11, 8),
        district_ids=[district.id for district in series.districts],
    ).as_of(datetime(2022, 12, 1, tzinfo=UTC))
    reference = backtests.ReferenceSeries(
        name="districts (official)",
        days=series.days,
        units=series.codes,
        counts=series.infections().T.astype(np.float64),
    )

    read = backtests.backtest_districts(
        session, first_day=date(2022, 10, 10), last_day=date(2022, 10, 25), seed=4, runs=40
    )
    as_corrected = backtests.backtest_series(
        reference, first_day=date(2022, 10, 10), last_day=date(2022, 10, 25), seed=4, runs=40
    )
    as_published = backtests.backtest_series(
        reference,
        first_day=date(2022, 10, 10),
        last_day=date(2022, 10, 25),
        seed=4,
        runs=40,
        known=lambda origin: as_first_published[: origin + 1],
    )

    assert read.rows == as_published.rows
    assert read.rows != as_corrected.rows
