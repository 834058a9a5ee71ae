"""The aggregates equal a recount from the raw rows of the real domains (their own `metrics`
modules) after laboratory results and case reports that arrive out of order, results delivered
twice, and conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import screening as lab
from tests.factories.people import make_person
from xietong.analytics import service
from xietong.analytics.catalogue import METRICS
from xietong.analytics.models import DailyAggregate
from xietong.cases import service as cases_service
from xietong.cases.schemas import CaseCreate, Classification
from xietong.core.errors import Conflict
from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.screening.schemas import LabResultBatch, LabResultIn, TubeIn

TZ = "Asia/Shanghai"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, 11, day, hour, minute, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


def providers() -> list[service.MetricsProvider]:
    found = [p for p in service.metrics_providers() if p.domain in ("cases", "screening", "zones")]
    if not any(p.domain == "cases" for p in found):
        pytest.skip("the cases domain has no metrics module in this tree")
    return found


def report(
    session: Session,
    person: Person,
    *,
    detected_at: datetime,
    registered_at: datetime,
    classification: Classification = "asymptomatic",
) -> int:
    case = cases_service.create_case(
        session,
        principal=SYSTEM,
        case_in=CaseCreate(
            person_id=person.id, classification=classification, detected_at=detected_at
        ),
        now=registered_at,
        tz=TZ,
    )
    return case.id


def assert_aggregates_equal_recount(session: Session, found: list[service.MetricsProvider]) -> None:
    stored = {
        (row.district_id, row.day): {name: getattr(row, name) for name in METRICS}
        for row in session.scalars(select(DailyAggregate))
    }
    recount = service.recount_cells(session, cells=set(stored), tz=TZ, providers=found)
    differences = {
        (cell, name): (stored[cell][name], value)
        for cell, figures in recount.items()
        for name, value in figures.items()
        if stored[cell][name] != value
    }
    assert differences == {}


def deliver(session: Session, *results: LabResultIn, at: datetime) -> None:
    """A laboratory's delivery through the intake flow (results, then cases and referrals)."""
    intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        batch=LabResultBatch(results=list(results)),
        tz=TZ,
        now=at,
    )


def outcome(tube: TubeIn, result: str, *, reported_at: datetime) -> LabResultIn:
    ct = 30.0 if result == "positive" else None
    return lab.result(tube.tube_code, result, ct=ct, reported_at=reported_at)


def test_aggregates_equal_a_recount_after_out_of_order_and_repeated_lab_results(
    session: Session, protector: PersonalDataProtector
) -> None:
    found = providers()
    if not any(p.domain == "screening" for p in found):
        pytest.skip("the screening domain has no metrics module in this tree")
    shapingba = lab.make_site(session, district_code="500106")
    banan = lab.make_site(session, district_code="500113")
    sha_people = [p.id for p in lab.make_persons(session, protector, 20, district_code="500106")]
    ban_people = [p.id for p in lab.make_persons(session, protector, 11, district_code="500113")]
    round_13 = lab.tube(shapingba, sha_people[:10], collected_at=local(13, 8))
    round_14 = lab.tube(shapingba, sha_people[10:], collected_at=local(14, 8))
    pooled = lab.tube(banan, ban_people[:10], collected_at=local(14, 9))
    single = lab.tube(banan, ban_people[10:], pool_size=1, collected_at=local(14, 9))
    lab.register(session, round_13, round_14, pooled, single, now=local(14, 10))
    noon_file = [
        outcome(round_14, "negative", reported_at=local(14, 11)),
        outcome(pooled, "positive", reported_at=local(14, 11)),
    ]
    late_file = [outcome(round_13, "negative", reported_at=local(14, 14)), noon_file[0]]

    # Noon: the 14 November round of Shapingba, and Banan's pool positive.
    deliver(session, *noon_file, at=local(14, 12))
    service.refresh_aggregates(session, now=local(14, 12, 10), tz=TZ, providers=found)
    # Afternoon: the 13 November round arrives late, with part of the noon file again.
    deliver(session, *late_file, at=local(14, 15))
    service.refresh_aggregates(session, now=local(14, 15, 10), tz=TZ, providers=found)
    # Evening: the single tube is positive (a case); the noon and afternoon files come again.
    deliver(session, outcome(single, "positive", reported_at=local(14, 18)), at=local(14, 19))
    deliver(session, *noon_file, *late_file[:1], at=local(14, 20))
    service.refresh_aggregates(session, now=local(14, 21), tz=TZ, providers=found)

    assert_aggregates_equal_recount(session, found)
    codes = service.areas_service.district_id_by_code(session)

    def row(code: str, day: int) -> DailyAggregate:
        found_row = session.get(DailyAggregate, (codes[code], date(2022, 11, day)))
        assert found_row is not None
        return found_row

    assert (row("500106", 13).tubes_sampled, row("500106", 13).tubes_resulted) == (1, 1)
    assert (row("500106", 14).swabs_sampled, row("500106", 14).tubes_resulted) == (10, 1)
    banan_14 = row("500113", 14)
    assert (banan_14.tubes_sampled, banan_14.tubes_positive, banan_14.pooled_positives) == (2, 2, 1)
    assert (banan_14.new_confirmed or 0) + (banan_14.new_asymptomatic or 0) == 1


def test_aggregates_equal_a_recount_after_out_of_order_and_repeated_case_reports(
    session: Session, protector: PersonalDataProtector
) -> None:
    found = providers()
    shapingba = [make_person(session, protector, district_code="500106") for _ in range(4)]
    banan = [make_person(session, protector, district_code="500113") for _ in range(2)]

    # 12 November: two cases of the day, one of the day before.
    report(session, shapingba[0], detected_at=local(12, 9), registered_at=local(12, 10))
    report(session, shapingba[1], detected_at=local(12, 11), registered_at=local(12, 12))
    late_banan = report(session, banan[0], detected_at=local(11, 20), registered_at=local(12, 12))
    service.refresh_aggregates(session, now=local(12, 13), tz=TZ, providers=found)

    # 14 November: a case detected on 10 November arrives late, a report is sent twice, and the
    # Banan case of 11 November converts to confirmed.
    report(session, shapingba[2], detected_at=local(10, 15), registered_at=local(14, 9))
    report(
        session,
        banan[1],
        detected_at=local(14, 8),
        registered_at=local(14, 9),
        classification="confirmed",
    )
    with pytest.raises(Conflict):
        report(session, banan[1], detected_at=local(14, 8), registered_at=local(14, 10))
    cases_service.reclassify_case(
        session, principal=SYSTEM, case_id=late_banan, classification="confirmed", at=local(14, 10)
    )
    service.refresh_aggregates(session, now=local(14, 11), tz=TZ, providers=found)
    # A report arriving after that refresh, for a day already counted twice.
    report(session, shapingba[3], detected_at=local(12, 18), registered_at=local(14, 12))
    service.refresh_aggregates(session, now=local(14, 13), tz=TZ, providers=found)

    assert_aggregates_equal_recount(session, found)
    rows = {
        (row.district_id, row.day): row
        for row in session.scalars(
            select(DailyAggregate).where(DailyAggregate.day >= date(2022, 11, 10))
        )
    }
    sha, ban = shapingba[0].residence_district_id, banan[0].residence_district_id
    assert rows[(sha, date(2022, 11, 10))].new_asymptomatic == 1
    assert rows[(sha, date(2022, 11, 12))].new_asymptomatic == 3
    assert rows[(ban, date(2022, 11, 11))].new_asymptomatic == 1
    assert rows[(ban, date(2022, 11, 14))].new_confirmed == 2  # one new, one conversion
    assert rows[(ban, date(2022, 11, 14))].conversions == 1


def test_a_full_recount_changes_nothing_the_incremental_refresh_counted(
    session: Session, protector: PersonalDataProtector
) -> None:
    found = providers()
    people = [make_person(session, protector, district_code="500104") for _ in range(3)]
    for k, person in enumerate(people):
        report(
            session,
            person,
            detected_at=local(13 - k, 10),
            registered_at=local(14, 8 + k),
        )
        service.refresh_aggregates(
            session, now=local(14, 8 + k) + timedelta(minutes=30), tz=TZ, providers=found
        )
    incremental = {
        (row.district_id, row.day): tuple(getattr(row, name) for name in METRICS)
        for row in session.scalars(select(DailyAggregate))
    }

    service.refresh_aggregates(session, now=local(14, 20), tz=TZ, providers=found, full=True)

    full = {
        (row.district_id, row.day): tuple(getattr(row, name) for name in METRICS)
        for row in session.scalars(select(DailyAggregate))
    }
    assert full == incremental
