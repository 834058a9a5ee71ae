"""The reporting triangle read from the cases and screening domains' own timestamps: a screening
case counts from the pool that first held the infection, a field case from its detection, each
until the day its case was recorded; the series as known at the end of a day holds only the
cases recorded by then."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.cases import at, make_case
from xietong.analytics.nowcasting import ReportingTriangle, nowcast_series, reporting_triangle
from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.people.protection import PersonalDataProtector
from xietong.screening.schemas import LabResultBatch

DISTRICT = "500106"
FIRST = date(2022, 11, 12)
LAST = date(2022, 11, 16)


def _outbreak(session: Session, protector: PersonalDataProtector) -> None:
    site = f.make_site(session, district_code=DISTRICT, with_building=True)
    pooled, neighbour, single = f.make_persons(session, protector, 3, district_code=DISTRICT)
    # A pool of 15 November positive; its member's retest of the 16th makes the case that day.
    pool = f.tube(
        site, [pooled.id, neighbour.id], pool_size=10, collected_at=at(date(2022, 11, 15), 8)
    )
    alone = f.tube(site, [single.id], pool_size=1, collected_at=at(date(2022, 11, 15), 8))
    f.register(session, pool, alone, now=at(date(2022, 11, 15), 9))
    _ingest(
        session,
        f.result(pool.tube_code, "positive", ct=30.0, reported_at=at(date(2022, 11, 15), 11)),
        f.result(alone.tube_code, "positive", ct=25.0, reported_at=at(date(2022, 11, 15), 11)),
        day=date(2022, 11, 15),
    )
    retest = f.tube(
        site, [pooled.id], pool_size=1, kind="retest", collected_at=at(date(2022, 11, 16), 9)
    )
    f.register(session, retest, now=at(date(2022, 11, 16), 10))
    _ingest(
        session,
        f.result(retest.tube_code, "positive", ct=27.0, reported_at=at(date(2022, 11, 16), 12)),
        day=date(2022, 11, 16),
    )
    # Field cases: one recorded the day it was detected, one three days late.
    make_case(session, protector, district_code=DISTRICT, detected_at=at(date(2022, 11, 14), 10))
    make_case(
        session,
        protector,
        district_code=DISTRICT,
        classification="confirmed",
        detected_at=at(date(2022, 11, 13), 10),
        recorded_at=at(date(2022, 11, 16), 15),
    )


def _ingest(session: Session, *results: f.LabResultIn, day: date) -> None:
    intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        tz=f.TZ,
        now=at(day, 13),
        batch=LabResultBatch(results=list(results)),
    )


@pytest.fixture
def read(session: Session, protector: PersonalDataProtector) -> ReportingTriangle:
    _outbreak(session, protector)
    return reporting_triangle(session, first_day=FIRST, last_day=LAST, tz=f.TZ)


def test_each_case_counts_from_its_first_sample_until_it_was_recorded(
    read: ReportingTriangle,
) -> None:
    row = read.codes.index(DISTRICT)
    cells = {(read.days[t].day, d): int(n) for (t, d), n in np.ndenumerate(read.cases[row]) if n}
    # 13th: detected, recorded 3 days late; 14th: the same day; 15th: the single tube the same
    # day and the pool whose retest made the case the next day.
    assert cells == {(13, 3): 1, (14, 0): 1, (15, 0): 1, (15, 1): 1}
    assert read.cases.sum() == 4  # no other district has a case
    np.testing.assert_array_equal(read.final()[row], [0, 1, 1, 2, 0])


def test_the_series_as_known_at_a_day_holds_only_the_cases_recorded_by_then(
    read: ReportingTriangle,
) -> None:
    row = read.codes.index(DISTRICT)
    on_15th = read.days.index(date(2022, 11, 15))
    np.testing.assert_array_equal(read.recorded_by(on_15th)[row], [0, 0, 1, 1])
    np.testing.assert_array_equal(read.recorded_by(len(read.days) - 1)[row], [0, 1, 1, 2, 0])
    triangle = read.triangle(on_15th, rows=row)
    assert triangle.shape == (4, 8)
    assert np.isnan(triangle[3, 1]) and triangle[3, 0] == 1  # the 15th's later days unknown
    assert triangle[1, 2] == 0  # the 13th's case was not recorded by the 15th


def test_the_nowcast_of_the_city_and_of_each_district_covers_the_days_asked(
    session: Session, protector: PersonalDataProtector
) -> None:
    _outbreak(session, protector)
    result = nowcast_series(session, first_day=LAST - timedelta(days=4), last_day=LAST, tz=f.TZ)
    assert result is not None
    assert result.days == tuple(LAST - timedelta(days=k) for k in range(4, -1, -1))
    np.testing.assert_array_equal(result.city.reported, [0, 1, 1, 2, 0])
    assert np.all(result.city.expected >= result.city.reported)
    assert np.all(result.city.lower <= result.city.expected)
    assert np.all(result.city.expected <= result.city.upper)
    row = result.codes.index(DISTRICT)
    np.testing.assert_array_equal(result.reported[row], result.city.reported)
    assert result.reported.sum() == 4
    assert np.all(result.lower <= result.expected) and np.all(result.expected <= result.upper)


def test_without_cases_there_is_no_nowcast(session: Session) -> None:
    assert nowcast_series(session, first_day=FIRST, last_day=LAST, tz=f.TZ) is None
