"""One search box, within what the user may see: a person by the last four characters of the
ID or of the phone (audited), a case by its number, a building by its address; nothing of
another district."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.people import next_national_id
from tests.factories.web import log_in
from tests.factories.zones import building, resident
from xietong.auth.models import AuditEntry
from xietong.core.principal import SYSTEM, Role
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate


def test_a_district_finds_its_own_persons_cases_and_buildings_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    place = building(session, "500106", 1)
    person = resident(session, protector, place)
    case = make_case(session, protector, district_code="500106")
    tail = person.id_masked[-4:]
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500106")

    found = app_client.get(f"/search?q={tail}")
    assert f'data-hit="person-{person.id}"' in found.text
    audited = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.username == principal.username, AuditEntry.action == "search"
        )
    ).all()
    assert str(person.id) in audited
    assert f'data-hit="case-{case.id}"' in app_client.get(f"/search?q=%23{case.id}").text
    assert (
        f'data-hit="building-{place.code}"'
        in app_client.get(f"/search?q={place.address_label}").text
    )

    log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    other = app_client.get(f"/search?q={tail}")
    assert f'data-hit="person-{person.id}"' not in other.text
    assert f'data-hit="case-{case.id}"' not in app_client.get(f"/search?q={case.id}").text
    assert (
        f'data-hit="building-{place.code}"'
        not in app_client.get(f"/search?q={place.address_label}").text
    )


def test_a_caller_is_found_by_the_last_four_digits_of_the_phone_within_the_district_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    own = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=next_national_id(),
            name="来电人",
            phone="+86 139-0000-7391",
            residence_building_code=building(session, "500106", 1).code,
        ),
    )
    elsewhere = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=next_national_id(),
            name="外区人",
            phone="13800007391",
            residence_building_code=building(session, "500108", 1).code,
        ),
    )
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500106")

    found = app_client.get("/search?q=7391")

    assert f'data-hit="person-{own.id}"' in found.text
    assert f'data-hit="person-{elsewhere.id}"' not in found.text
    reasons = session.scalars(
        select(AuditEntry.reason).where(
            AuditEntry.username == principal.username, AuditEntry.entity_id == str(own.id)
        )
    ).all()
    assert any("phone ending 7391" in str(r) for r in reasons)
    assert protector.hash_phone_tail("7391") == own.phone_tail_hash
