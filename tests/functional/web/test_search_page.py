"""One search box, within what the user may see: a person by the last four characters of the
ID (audited), a case by its number, a building by its address; nothing of another district."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.web import log_in
from tests.factories.zones import building, resident
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


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
