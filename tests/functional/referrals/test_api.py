"""Referrals over the API: manual creation is idempotent, a district sees only referrals to,
from or through it (a third district gets 404), the person's details reach the receiving
district only once it has acknowledged, and every read is audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.people import make_person
from tests.factories.referrals import FOURTH, RECEIVER, SENDER, THIRD, make_referral
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people.models import PersonAccessGrant
from xietong.people.protection import PersonalDataProtector


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def audits(session: Session, entity: str, entity_id: int, action: str = "read") -> int:
    return int(
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.entity == entity,
                AuditEntry.entity_id == str(entity_id),
                AuditEntry.action == action,
            )
        )
        or 0
    )


def test_a_district_refers_a_person_it_found_to_the_home_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code=RECEIVER, current_district_code=SENDER)
    _, token = district_user(session, SENDER)
    body = {"person_id": person.id, "reason": "close_contact", "evidence": "流调报告 1114-07"}
    first = app_client.post("/api/referrals", json=body, headers=auth(token))
    assert first.status_code == 201, first.text
    referral = first.json()["referral"]
    assert (referral["from_district_code"], referral["to_district_code"]) == (SENDER, RECEIVER)
    assert referral["status"] == "pushed" and first.json()["created"] is True
    assert referral["person"] is None  # the sending district sees status and feedback only
    again = app_client.post("/api/referrals", json=body, headers=auth(token))
    assert again.status_code == 200
    assert again.json()["referral"]["id"] == referral["id"] and again.json()["created"] is False
    other = app_client.post(
        "/api/referrals", json={**body, "evidence": "流调报告 1114-08"}, headers=auth(token)
    )
    assert other.status_code == 201 and other.json()["referral"]["id"] != referral["id"]


def test_the_receiving_district_is_granted_the_person(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, to_code=THIRD, from_code=SENDER)
    grant = session.get(PersonAccessGrant, (referral.person_id, referral.to_district_id))
    assert grant is not None and grant.expires_at is None


def test_a_district_cannot_refer_to_itself(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code=SENDER)
    _, token = district_user(session, SENDER)
    response = app_client.post(
        "/api/referrals",
        json={"person_id": person.id, "evidence": "x"},
        headers=auth(token),
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "to_district_code"


def test_a_district_cannot_refer_a_person_it_cannot_see(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code=RECEIVER)
    _, token = district_user(session, THIRD)
    response = app_client.post(
        "/api/referrals", json={"person_id": person.id, "evidence": "x"}, headers=auth(token)
    )
    assert response.status_code == 404


def test_a_third_district_sees_nothing_of_a_referral(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, token = district_user(session, THIRD)
    for path in ("", "/history"):
        response = app_client.get(f"/api/referrals/{referral.id}{path}", headers=auth(token))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "referral_not_found"
    for action in ("acknowledge", "located", "controlled"):
        response = app_client.post(f"/api/referrals/{referral.id}/{action}", headers=auth(token))
        assert response.status_code == 404
    listed = app_client.get("/api/referrals", headers=auth(token), params={"limit": 500}).json()
    assert referral.id not in {item["id"] for item in listed["items"]}


def test_only_the_receiving_district_acts(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, sender = district_user(session, SENDER)
    response = app_client.post(f"/api/referrals/{referral.id}/acknowledge", headers=auth(sender))
    assert response.status_code == 403
    _, viewer = make_user(session, role=Role.viewer, district_code=RECEIVER)
    assert app_client.get(f"/api/referrals/{referral.id}", headers=auth(viewer)).status_code == 403


def test_the_person_is_shown_to_the_receiver_once_acknowledged_and_every_read_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    before = app_client.get(f"/api/referrals/{referral.id}", headers=auth(receiver)).json()
    assert before["person"] is None
    assert audits(session, "referral", referral.id) == 1
    assert audits(session, "person", referral.person_id) == 0
    acknowledged = app_client.post(
        f"/api/referrals/{referral.id}/acknowledge", headers=auth(receiver)
    )
    assert acknowledged.status_code == 200, acknowledged.text
    person = acknowledged.json()["person"]
    assert person["name"] == "测试人员" and person["phone"] == "13800000000"
    assert person["id_masked"].startswith("5001") and "*" in person["id_masked"]
    assert person["residence_address"] and person["current_address"]
    assert audits(session, "person", referral.person_id) == 1
    _, sender = district_user(session, SENDER)
    seen_by_sender = app_client.get(f"/api/referrals/{referral.id}", headers=auth(sender)).json()
    assert seen_by_sender["person"] is None and seen_by_sender["status"] == "acknowledged"
    assert audits(session, "referral", referral.id) == 3


def test_the_sender_sees_the_feedback(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    for step in ("acknowledge", "located", "controlled"):
        assert (
            app_client.post(f"/api/referrals/{referral.id}/{step}", headers=auth(receiver))
        ).status_code == 200
    closed = app_client.post(
        f"/api/referrals/{referral.id}/close",
        json={"feedback": "已转运至集中隔离点"},
        headers=auth(receiver),
    )
    assert closed.status_code == 200
    _, sender = district_user(session, SENDER)
    seen = app_client.get(f"/api/referrals/{referral.id}", headers=auth(sender)).json()
    assert (seen["status"], seen["feedback"]) == ("closed", "已转运至集中隔离点")
    history = app_client.get(f"/api/referrals/{referral.id}/history", headers=auth(sender))
    assert [e["action"] for e in history.json()] == [
        "pushed",
        "acknowledged",
        "located",
        "controlled",
        "closed",
    ]


def test_a_refused_transition_is_a_clear_422(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    response = app_client.post(f"/api/referrals/{referral.id}/controlled", headers=auth(receiver))
    assert response.status_code == 422
    assert "pushed" in response.json()["error"]["details"][0]["reason"]


def test_the_inbox_and_the_outbox(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    incoming = make_referral(session, protector, from_code=SENDER, to_code=RECEIVER)
    outgoing = make_referral(session, protector, from_code=RECEIVER, to_code=FOURTH)
    _, token = district_user(session, RECEIVER)

    def ids(box: str) -> set[int]:
        page = app_client.get(
            "/api/referrals", params={"box": box, "limit": 500}, headers=auth(token)
        ).json()
        return {item["id"] for item in page["items"]}

    assert incoming.id in ids("inbox") and outgoing.id not in ids("inbox")
    assert outgoing.id in ids("outbox") and incoming.id not in ids("outbox")
    assert {incoming.id, outgoing.id} <= ids("all")
    # Every listing that shows a referral is audited: the inbox twice and "all" once above.
    assert audits(session, "referral", incoming.id, "list") == 3


def test_the_command_centre_sees_every_referral_and_the_person(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, token = command_user(session)
    seen = app_client.get(f"/api/referrals/{referral.id}", headers=auth(token)).json()
    assert seen["person"]["name"] == "测试人员"
