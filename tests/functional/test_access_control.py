"""Jurisdiction scoping and the audit trail: a district sees its own persons only (404 otherwise),
and every read of a person record leaves an audit row."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.people import make_person
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people import service
from xietong.people.protection import PersonalDataProtector


def audit_rows(session: Session, person_id: int, action: str = "read") -> int:
    return (
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.entity == "person",
                AuditEntry.entity_id == str(person_id),
                AuditEntry.action == action,
            )
        )
        or 0
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_district_user_reads_a_person_of_the_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106", name="王五")
    _, token = district_user(session, "500106")
    response = app_client.get(f"/api/people/{person.id}", headers=auth(token))
    assert response.status_code == 200
    assert response.json()["name"] == "王五"
    assert response.json()["id_masked"].startswith("5001")


def test_another_districts_person_is_not_found_not_forbidden(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    _, token = district_user(session, "500108")
    response = app_client.get(f"/api/people/{person.id}", headers=auth(token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "person_not_found"
    assert "name" not in response.text


def test_the_district_where_a_person_stays_sees_the_person(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106", current_district_code="500112")
    _, token = district_user(session, "500112")
    assert app_client.get(f"/api/people/{person.id}", headers=auth(token)).status_code == 200


def test_an_access_grant_opens_a_person_to_a_third_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    principal, token = district_user(session, "500113")
    assert app_client.get(f"/api/people/{person.id}", headers=auth(token)).status_code == 404
    assert principal.district_id is not None
    service.grant_access(
        session, person_id=person.id, district_id=principal.district_id, reason="referral 1"
    )
    assert app_client.get(f"/api/people/{person.id}", headers=auth(token)).status_code == 200


def test_every_read_writes_an_audit_row_with_who_and_why(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    principal, token = district_user(session, "500106")
    for _ in range(3):
        app_client.get(
            f"/api/people/{person.id}", headers=auth(token), params={"reason": "协查核实"}
        )
    assert audit_rows(session, person.id) == 3
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == str(person.id), AuditEntry.action == "read"
        )
    ).first()
    assert entry is not None
    assert (entry.username, entry.reason, entry.district_id) == (
        principal.username,
        "协查核实",
        principal.district_id,
    )
    assert entry.at.tzinfo is not None


def test_a_refused_read_is_not_audited_as_a_read(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    _, token = district_user(session, "500108")
    app_client.get(f"/api/people/{person.id}", headers=auth(token))
    assert audit_rows(session, person.id) == 0


def test_listing_persons_is_scoped_and_audits_each_listed_record(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    mine = [make_person(session, protector, district_code="500107") for _ in range(3)]
    make_person(session, protector, district_code="500105")
    _, token = district_user(session, "500107")
    page = app_client.get("/api/people", headers=auth(token), params={"limit": 500}).json()
    ids = {item["id"] for item in page["items"]}
    assert {p.id for p in mine} <= ids
    assert all(
        item["residence_district_code"] == "500107" or item["current_district_code"] == "500107"
        for item in page["items"]
    )
    assert "name" not in page["items"][0]
    assert all(audit_rows(session, p.id, "list") == 1 for p in mine)


def test_the_command_centre_sees_every_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500241")
    _, token = command_user(session)
    assert app_client.get(f"/api/people/{person.id}", headers=auth(token)).status_code == 200


def test_a_viewer_may_not_read_persons(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    _, token = make_user(session, role=Role.viewer, district_code="500106")
    response = app_client.get(f"/api/people/{person.id}", headers=auth(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_no_token_is_401_with_a_json_error(app_client: TestClient) -> None:
    response = app_client.get("/api/people/1")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_district_user_cannot_register_a_person_of_another_district(
    app_client: TestClient, session: Session
) -> None:
    from tests.factories.people import building_in, next_national_id

    _, token = district_user(session, "500106")
    response = app_client.post(
        "/api/people",
        headers=auth(token),
        json={
            "national_id": next_national_id(),
            "name": "李四",
            "residence_building_code": building_in(session, "500108").code,
        },
    )
    assert response.status_code == 403
