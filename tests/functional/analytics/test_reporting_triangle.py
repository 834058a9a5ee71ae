"""The reporting triangle read from the cases and screening domains' own timestamps: a screening
case counts from the pool that first held the infection, a field case from its detection, each
until the day its case was recorded; the series as known at the end of a day holds only the
cases recorded by then."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.cases import at, make_case
from xietong.analytics.nowcasting import (
    DelayReads,
    ReportingTriangle,
    nowcast_series,
    reporting_triangle,
)
from xietong.cases import metrics as cases_metrics
from xietong.cases.metrics import DelayCell
from xietong.cases.models import Case
from xietong.core.clock import local_day
from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.people.protection import PersonalDataProtector
from xietong.screening.models import CaseCandidate, RetestTask, Tube
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


def read_one_by_one(
    session: Session, *, first_day: date, last_day: date, tz: str
) -> list[DelayCell]:
    """The oracle: every case read, its first positive sample found among its person's retested
    pools, and its local days found in Python, one case at a time."""
    cells: Counter[tuple[int, date, date, date]] = Counter()
    for case in session.scalars(select(Case).where(Case.report_day >= first_day)):
        sampled = case.detected_at
        candidate = session.get(CaseCandidate, case.candidate_id) if case.candidate_id else None
        if candidate is not None:
            pools = session.scalars(
                select(Tube.collected_at)
                .join(RetestTask, RetestTask.source_tube_id == Tube.id)
                .where(RetestTask.person_id == candidate.person_id)
            )
            since = candidate.sampled_at - timedelta(days=14)
            sampled = min(
                [candidate.sampled_at, *(t for t in pools if since <= t <= candidate.sampled_at)]
            )
        sampled_on = local_day(sampled, tz)
        recorded_on = max(local_day(case.created_at, tz), sampled_on)
        if first_day <= sampled_on <= last_day and recorded_on <= last_day:
            cells[case.report_district_id, sampled_on, recorded_on, case.report_day] += 1
    return [DelayCell(d, s, r, p, n) for (d, s, r, p), n in sorted(cells.items())]


@pytest.mark.parametrize("tz", [f.TZ, "Europe/Berlin", "America/Santiago"])
def test_the_delays_counted_in_the_database_are_those_read_case_by_case(
    session: Session, protector: PersonalDataProtector, tz: str
) -> None:
    _outbreak(session, protector)
    # Two positive pools 16 days apart, the later one within the 14 days before the retest.
    site = f.make_site(session, district_code=DISTRICT)
    late, other = f.make_persons(session, protector, 2, district_code=DISTRICT)
    for day in (date(2022, 10, 20), date(2022, 11, 5)):
        pool = f.tube(site, [late.id, other.id], collected_at=at(day, 8))
        f.register(session, pool, now=at(day, 9))
        _ingest(session, f.result(pool.tube_code, "positive", reported_at=at(day, 11)), day=day)
    retest = f.tube(site, [late.id], pool_size=1, kind="retest", collected_at=at(LAST, 9))
    f.register(session, retest, now=at(LAST, 10))
    _ingest(session, f.result(retest.tube_code, "positive", reported_at=at(LAST, 12)), day=LAST)
    # Field cases around local midnights in three districts, recorded up to four days later
    # (some after the last day), among them some detected before the first day.
    rng = random.Random(7)
    for _ in range(40):
        detected = at(FIRST - timedelta(days=3), 0) + timedelta(minutes=rng.randrange(12 * 1440))
        make_case(
            session,
            protector,
            district_code=rng.choice([DISTRICT, "500107", "500108"]),
            detected_at=detected,
            recorded_at=detected + timedelta(minutes=rng.choice([0, 1, 59, 600, 1440, 5000])),
        )
    # One reported the day before its detection (a clock behind): a read from its detection's
    # day leaves it out, a read of more days counts it.
    early = make_case(session, protector, district_code=DISTRICT, detected_at=at(FIRST, 23))
    early.report_day = FIRST - timedelta(days=1)
    session.flush()
    # From before the end of summer time in Berlin (30 October) and from the first day.
    for first_day, last_day in ((FIRST, LAST), (date(2022, 10, 15), LAST), (LAST, LAST)):
        counted = cases_metrics.reporting_delays(
            session, first_day=first_day, last_day=last_day, tz=tz
        )
        assert counted == read_one_by_one(session, first_day=first_day, last_day=last_day, tz=tz)
        if first_day == FIRST:
            assert any(cell.recorded_on > cell.sampled_on for cell in counted)
        # A read of fewer days up to the same last day is cut from a read of more: the same
        # cells as its own read (the overview's trend and forecast read the delays once).
        reads = DelayReads()
        reads.cells(session, first_day=date(2022, 10, 15), last_day=last_day, tz=tz)
        cut = reads.cells(session, first_day=first_day, last_day=last_day, tz=tz)
        assert cut == counted
    # The retested person's infection counts from the pool within the 14 days, not the older
    # one (the only samples of those days).
    whole = cases_metrics.reporting_delays(
        session, first_day=date(2022, 10, 25), last_day=LAST, tz=f.TZ
    )
    sampled_days = {cell.sampled_on for cell in whole}
    assert date(2022, 11, 5) in sampled_days and date(2022, 10, 20) not in sampled_days
