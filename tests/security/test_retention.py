"""Retention: the persons nothing has named for the retention period are pseudonymised (name,
phone, masked ID and birth date erased, the record kept), the others left whole; both backends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.people import make_person
from xietong.cases.models import Case
from xietong.flows.retention import apply_retention
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.retention import PSEUDONYM_ID, PSEUDONYM_NAME

NOW = datetime(2024, 1, 1, tzinfo=UTC)
LONG_AGO = datetime(2022, 11, 1, tzinfo=UTC)  # more than a year before NOW
LATELY = datetime(2023, 12, 1, tzinfo=UTC)


def _last_changed(session: Session, person: Person, when: datetime) -> None:
    session.execute(update(Person).where(Person.id == person.id).values(updated_at=when))


def _is_pseudonymised(session: Session, protector: PersonalDataProtector, person: Person) -> bool:
    session.refresh(person)
    return (
        protector.decrypt(person.name_enc) == PSEUDONYM_NAME
        and person.phone_enc is None
        and person.id_masked == PSEUDONYM_ID
        and person.birth_date is None
    )


def test_persons_past_the_retention_period_are_pseudonymised_and_the_others_kept(
    session: Session, protector: PersonalDataProtector
) -> None:
    forgotten = make_person(session, protector, name="张三", phone="13900000001")
    recent = make_person(session, protector, name="李四", phone="13900000002")
    old_case = make_case(session, protector)
    recent_case = make_case(session, protector)
    old_case_person = session.get(Person, old_case.person_id)
    recent_case_person = session.get(Person, recent_case.person_id)
    assert old_case_person is not None and recent_case_person is not None
    for person in (forgotten, old_case_person, recent_case_person):
        _last_changed(session, person, LONG_AGO)
    _last_changed(session, recent, LATELY)
    session.execute(update(Case).where(Case.id == old_case.id).values(updated_at=LONG_AGO))
    session.execute(update(Case).where(Case.id == recent_case.id).values(updated_at=LATELY))

    report = apply_retention(session, protector=protector, retention_days=365, now=NOW)

    assert report.pseudonymised >= 2
    assert _is_pseudonymised(session, protector, forgotten)
    assert _is_pseudonymised(session, protector, old_case_person)
    # The record stays: its case still names it.
    assert session.get(Case, old_case.id) is not None
    assert not _is_pseudonymised(session, protector, recent)
    assert protector.decrypt(recent.name_enc) == "李四"
    assert not _is_pseudonymised(session, protector, recent_case_person)


def test_running_the_job_again_changes_nothing(
    session: Session, protector: PersonalDataProtector
) -> None:
    forgotten = make_person(session, protector)
    _last_changed(session, forgotten, LONG_AGO)
    apply_retention(session, protector=protector, retention_days=365, now=NOW)
    again = apply_retention(session, protector=protector, retention_days=365, now=NOW)
    assert again.pseudonymised == 0
    assert _is_pseudonymised(session, protector, forgotten)
