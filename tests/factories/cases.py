"""Cases, links, contacts and quarantine facilities for tests, at fixed times (never the clock).

Times are in November 2022 in Chongqing: `at(day, hour)` is that local hour as UTC.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from tests.factories import clock
from tests.factories.clock import TZ
from tests.factories.people import building_in, make_person, next_national_id
from xietong.areas import service as areas_service
from xietong.cases import service
from xietong.cases.contacts import service as contact_service
from xietong.cases.links import service as link_service
from xietong.cases.models import Case, CloseContact
from xietong.cases.schemas import CaseCreate, Classification, ContactCreate, LinkCreate
from xietong.core.principal import SYSTEM, Principal
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate

DAY = date(2022, 11, 14)
_serial = itertools.count(1)


def at(day: date = DAY, hour: int = 12) -> datetime:
    """`hour` o'clock local time on `day` (the 14th by default), as UTC."""
    return clock.at(day, hour)


def make_case(
    session: Session,
    protector: PersonalDataProtector,
    *,
    district_code: str = "500106",
    classification: Classification = "asymptomatic",
    detected_at: datetime | None = None,
    person: Person | None = None,
    report_district_code: str | None = None,
    found_building_code: str | None = None,
    principal: Principal = SYSTEM,
    recorded_at: datetime | None = None,
) -> Case:
    """A case of `person` or of a new person living in `district_code`, reported where the
    person lives unless told otherwise, recorded five minutes after its detection unless
    `recorded_at` says when."""
    person = person or make_person(session, protector, district_code=district_code)
    detected_at = detected_at or at()
    if report_district_code is None:
        report_district_code = areas_service.district_code_by_id(session)[
            person.residence_district_id
        ]
    return service.create_case(
        session,
        principal=principal,
        case_in=CaseCreate(
            person_id=person.id,
            classification=classification,
            detected_at=detected_at,
            report_district_code=report_district_code,
            found_building_code=found_building_code,
        ),
        now=recorded_at or detected_at + timedelta(minutes=5),
        tz=TZ,
    )


def link(
    session: Session,
    source: Case,
    target: Case,
    *,
    evidence_kind: str = "household",
    principal: Principal = SYSTEM,
) -> None:
    link_service.create_link(
        session,
        principal=principal,
        link_in=LinkCreate(
            source_case_id=source.id,
            target_case_id=target.id,
            evidence_kind=evidence_kind,  # type: ignore[arg-type]
            evidence="同住 (lives with the source)",
        ),
        now=at(),
    )


def add_contact(
    session: Session,
    protector: PersonalDataProtector,
    case: Case,
    *,
    person: Person | None = None,
    district_code: str | None = None,
    starts_on: date = DAY,
    principal: Principal = SYSTEM,
) -> CloseContact:
    """A close contact of `case`: `person`, or a new person living in `district_code`."""
    if person is None:
        codes = areas_service.district_code_by_id(session)
        person = make_person(
            session, protector, district_code=district_code or codes[case.report_district_id]
        )
    return contact_service.register_contact(
        session,
        principal=principal,
        protector=protector,
        case_id=case.id,
        contact_in=ContactCreate(
            person_id=person.id,
            exposure_kind="household",
            last_exposure_at=at(starts_on, 8),
            quarantine_starts_on=starts_on,
        ),
        now=at(starts_on, 15),
        tz=TZ,
    )


def residence_code(session: Session, district_code: str, index: int = 0) -> str:
    return building_in(session, district_code, index).code


def person_at(
    session: Session, protector: PersonalDataProtector, building_code: str, name: str = "测试人员"
) -> Person:
    """A new person living in the building `building_code`."""
    return people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=next_national_id(), name=name, residence_building_code=building_code
        ),
    )


def growing_cases_recorded_late(
    session: Session, protector: PersonalDataProtector, *, district_code: str
) -> None:
    """Cases detected 1-13 November 2022 in `district_code`, 4 + 2k on the k-th day, a third
    recorded the same day, a third the next day and a third two days later (those of the 12th
    and 13th partly after the 13th): a reporting triangle with late days to nowcast."""
    for k in range(13):
        day = date(2022, 11, 1) + timedelta(days=k)
        for j in range(4 + 2 * k):
            make_case(
                session,
                protector,
                district_code=district_code,
                detected_at=at(day, 10),
                recorded_at=at(day + timedelta(days=j % 3), 15),
            )
