"""Cases are scoped like persons: a district sees the cases reported in it or living in it (404
otherwise, so a case's existence is not disclosed), and every read of a case is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.cases import add_contact, at, make_case
from tests.factories.people import make_person
from xietong.auth.models import AuditEntry
from xietong.cases.models import QuarantineOrder
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector

SHAPINGBA, JIULONGPO, NAN_AN = "500106", "500107", "500108"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def case_reads(session: Session, case_id: int) -> int:
    return (
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.entity == "case",
                AuditEntry.entity_id == str(case_id),
                AuditEntry.action == "read",
            )
        )
        or 0
    )


def test_the_district_of_report_and_the_district_of_residence_see_a_case(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    # Lives in 九龍坡, found and reported in 沙坪壩.
    case = make_case(session, protector, district_code=JIULONGPO, report_district_code=SHAPINGBA)
    for district in (SHAPINGBA, JIULONGPO):
        _, token = district_user(session, district)
        response = app_client.get(f"/api/cases/{case.id}", headers=auth(token))
        assert response.status_code == 200, district
        assert (
            response.json()["report_district_code"],
            response.json()["residence_district_code"],
        ) == (SHAPINGBA, JIULONGPO)


def test_a_third_district_gets_not_found_and_no_read_is_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, NAN_AN)
    response = app_client.get(f"/api/cases/{case.id}", headers=auth(token))
    assert (response.status_code, response.json()["error"]["code"]) == (404, "case_not_found")
    for path in ("contacts", "places", "links", "chain"):
        assert (
            app_client.get(f"/api/cases/{case.id}/{path}", headers=auth(token)).status_code == 404
        )
    assert case_reads(session, case.id) == 0


def test_every_read_of_a_case_is_audited_with_its_reason(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)
    app_client.get(f"/api/cases/{case.id}", headers=auth(token), params={"reason": "流调核实"})
    assert case_reads(session, case.id) == 1
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.entity == "case", AuditEntry.action == "read")
    ).first()
    assert entry is not None and entry.reason == "流调核实"


def test_the_case_list_holds_only_the_districts_cases(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    mine = [make_case(session, protector, district_code=JIULONGPO) for _ in range(2)]
    theirs = make_case(session, protector, district_code=NAN_AN)
    _, token = district_user(session, JIULONGPO)
    page = app_client.get("/api/cases", headers=auth(token), params={"limit": 500}).json()
    ids = {item["id"] for item in page["items"]}
    assert {c.id for c in mine} <= ids and theirs.id not in ids
    assert all(
        JIULONGPO in (item["report_district_code"], item["residence_district_code"])
        for item in page["items"]
    )
    _, city = command_user(session)
    everything = app_client.get("/api/cases", headers=auth(city), params={"limit": 500}).json()
    assert theirs.id in {item["id"] for item in everything["items"]}


def test_a_district_reports_cases_in_its_own_district_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code=SHAPINGBA)
    _, token = district_user(session, SHAPINGBA)
    response = app_client.post(
        "/api/cases",
        headers=auth(token),
        json={
            "person_id": person.id,
            "classification": "confirmed",
            "detected_at": at().isoformat(),
            "report_district_code": JIULONGPO,
        },
    )
    assert response.status_code == 403


def test_a_district_cannot_report_a_person_it_does_not_see(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code=NAN_AN)
    _, token = district_user(session, SHAPINGBA)
    response = app_client.post(
        "/api/cases",
        headers=auth(token),
        json={
            "person_id": person.id,
            "classification": "confirmed",
            "detected_at": at().isoformat(),
        },
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "person_not_found")


def test_viewers_and_laboratories_read_no_cases(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    for role in (Role.viewer, Role.lab):
        _, token = make_user(session, role=role, district_code=SHAPINGBA)
        assert app_client.get(f"/api/cases/{case.id}", headers=auth(token)).status_code == 403


def test_the_contacts_district_sees_its_quarantine_order_and_a_third_does_not(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=SHAPINGBA)
    contact = add_contact(session, protector, case, district_code=JIULONGPO)
    order_id = session.scalars(
        select(QuarantineOrder.id).where(QuarantineOrder.contact_id == contact.id)
    ).one()
    for district, status in ((SHAPINGBA, 200), (JIULONGPO, 200), (NAN_AN, 404)):
        _, token = district_user(session, district)
        url = f"/api/cases/quarantine-orders/{order_id}"
        assert app_client.get(url, headers=auth(token)).status_code == status, district
        contact_url = f"/api/cases/contacts/{contact.id}"
        assert app_client.get(contact_url, headers=auth(token)).status_code == status, district
