"""Positives of the screening domain become cases in the same transaction as the results: a
positive single tube is a case candidate, and the intake flow turns it into a case once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import screening as f
from tests.factories.cases import make_case
from xietong.cases.models import Case
from xietong.core.principal import SYSTEM
from xietong.flows import intake
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.screening import service as screening_service
from xietong.screening.schemas import LabResultBatch, LabResultIn

DISTRICT = "500106"


def ingest(session: Session, *results: LabResultIn, now: datetime = f.NOW) -> intake.IntakeReport:
    return intake.ingest_lab_results(
        session,
        principal=SYSTEM,
        tz=f.TZ,
        now=now,
        batch=LabResultBatch(results=list(results)),
    )


def case_of(session: Session, person: Person) -> Case | None:
    return session.scalar(select(Case).where(Case.person_id == person.id))


def test_a_positive_single_tube_becomes_a_case_in_the_same_intake(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code=DISTRICT, with_building=True)
    [person] = f.make_persons(session, protector, 1, district_code=DISTRICT)
    single = f.tube(site, [person.id], pool_size=1)
    f.register(session, single)
    report = ingest(session, f.result(single.tube_code, "positive", ct=24.0))
    assert report.followed_up["cases"]["cases_created"] == 1
    case = case_of(session, person)
    assert case is not None
    assert (case.source, case.classification, case.found_under_control) == (
        "screening",
        "asymptomatic",
        False,
    )
    assert case.report_day.isoformat() == "2022-11-15"
    assert case.found_building_id is not None
    assert screening_service.pending_case_candidates(session) == []


def test_the_same_results_sent_twice_make_one_case(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code=DISTRICT)
    [person] = f.make_persons(session, protector, 1, district_code=DISTRICT)
    single = f.tube(site, [person.id], pool_size=1)
    f.register(session, single)
    ingest(session, f.result(single.tube_code, "positive", ct=24.0))
    again = ingest(session, f.result(single.tube_code, "positive", ct=24.0))
    assert again.followed_up["cases"]["cases_created"] == 0
    assert len(session.scalars(select(Case).where(Case.person_id == person.id)).all()) == 1


def test_a_pool_member_held_then_positive_on_retest_is_found_under_control(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code=DISTRICT)
    persons = f.make_persons(session, protector, 3, district_code=DISTRICT)
    pool = f.tube(site, [p.id for p in persons], pool_size=10)
    f.register(session, pool)
    pooled = ingest(session, f.result(pool.tube_code, "positive", ct=30.0))
    assert pooled.followed_up["cases"]["cases_created"] == 0
    retest_at = f.SAMPLED_AT + timedelta(hours=5)
    retest = f.tube(site, [persons[0].id], pool_size=1, kind="retest", collected_at=retest_at)
    f.register(session, retest, now=retest_at)
    ingest(
        session,
        f.result(retest.tube_code, "positive", ct=26.0, reported_at=retest_at + timedelta(hours=3)),
        now=retest_at + timedelta(hours=4),
    )
    case = case_of(session, persons[0])
    assert case is not None
    assert (case.found_under_control, case.control_reason) == (True, "held")


def test_a_positive_of_a_person_who_is_already_a_case_adds_no_case(
    session: Session, protector: PersonalDataProtector
) -> None:
    site = f.make_site(session, district_code=DISTRICT)
    [person] = f.make_persons(session, protector, 1, district_code=DISTRICT)
    earlier = make_case(session, protector, person=person)
    single = f.tube(site, [person.id], pool_size=1)
    f.register(session, single)
    report = ingest(session, f.result(single.tube_code, "positive", ct=24.0))
    assert report.followed_up["cases"] == {
        "candidates": 1,
        "cases_created": 0,
        "already_cases": 1,
        "unknown_persons": 0,
        "case_ids": [],
    }
    assert case_of(session, person) is earlier
