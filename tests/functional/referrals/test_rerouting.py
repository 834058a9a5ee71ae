"""Declined and re-routed: the district that declines names where the person is and the referral
goes on there with the full SLA, the chain of hand-offs stays visible to every district on it,
and the command centre reassigns what was declined or escalated."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.referrals import FOURTH, RECEIVER, SENDER, THIRD, make_referral
from xietong.people.models import PersonAccessGrant
from xietong.people.protection import PersonalDataProtector


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_declined_referral_is_pushed_on_to_the_district_named(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    response = app_client.post(
        f"/api/referrals/{referral.id}/decline",
        json={"reason": "本人已到江北区", "redirect_to_district_code": THIRD},
        headers=auth(receiver),
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["status"], moved["hop"], moved["to_district_code"]) == ("pushed", 2, THIRD)
    assert [
        (h["kind"], h["from_district_code"], h["to_district_code"]) for h in moved["chain"]
    ] == [
        ("created", SENDER, RECEIVER),
        ("rerouted", RECEIVER, THIRD),
    ]
    assert moved["chain"][0]["ended_how"] == "rerouted"
    # The new district has the whole SLA from the moment it was pushed on.
    pushed = moved["pushed_at"]
    assert moved["acknowledge_due_at"] > pushed and moved["decline_reason"] == "本人已到江北区"
    _, third = district_user(session, THIRD)
    assert (
        app_client.post(
            f"/api/referrals/{referral.id}/acknowledge", headers=auth(third)
        ).status_code
        == 200
    )
    # The district that handed it on keeps the status but can no longer act or see the person.
    seen = app_client.get(f"/api/referrals/{referral.id}", headers=auth(receiver))
    assert seen.status_code == 200 and seen.json()["person"] is None
    assert (
        app_client.post(f"/api/referrals/{referral.id}/located", headers=auth(receiver)).status_code
        == 403
    )
    _, sender = district_user(session, SENDER)
    assert app_client.get(f"/api/referrals/{referral.id}", headers=auth(sender)).status_code == 200
    _, fourth = district_user(session, FOURTH)
    assert app_client.get(f"/api/referrals/{referral.id}", headers=auth(fourth)).status_code == 404


def test_handing_on_moves_the_access_grant(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector, to_code=FOURTH)
    _, receiver = district_user(session, FOURTH)
    app_client.post(
        f"/api/referrals/{referral.id}/decline",
        json={"reason": "人在渝北", "redirect_to_district_code": THIRD},
        headers=auth(receiver),
    )
    session.expire_all()
    old = session.get(PersonAccessGrant, (referral.person_id, referral.to_district_id))
    new = session.get(PersonAccessGrant, (referral.person_id, referral.to_district_id))
    assert new is not None and new.expires_at is None
    from tests.factories.referrals import district_id

    old = session.get(PersonAccessGrant, (referral.person_id, district_id(session, FOURTH)))
    assert old is not None and old.expires_at is not None


def test_a_plain_decline_waits_for_the_command_centre_to_reassign(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    declined = app_client.post(
        f"/api/referrals/{referral.id}/decline",
        json={"reason": "查无此人"},
        headers=auth(receiver),
    ).json()
    # Only the command centre reassigns: the district is not offered what it would be refused.
    assert declined["status"] == "declined" and declined["allowed_actions"] == []
    _, command = command_user(session)
    seen = app_client.get(f"/api/referrals/{referral.id}", headers=auth(command)).json()
    assert seen["allowed_actions"] == ["reassign"]
    inbox = app_client.get("/api/referrals", params={"box": "inbox"}, headers=auth(command))
    assert referral.id in {item["id"] for item in inbox.json()["items"]}
    refused = app_client.post(
        f"/api/referrals/{referral.id}/reassign",
        json={"to_district_code": THIRD},
        headers=auth(receiver),
    )
    assert refused.status_code == 403
    reassigned = app_client.post(
        f"/api/referrals/{referral.id}/reassign",
        json={"to_district_code": THIRD, "note": "根据大数据核查, 人在江北"},
        headers=auth(command),
    )
    assert reassigned.status_code == 200
    chain = reassigned.json()["chain"]
    assert [h["kind"] for h in chain] == ["created", "reassigned"]
    assert (
        reassigned.json()["status"] == "pushed" and reassigned.json()["to_district_code"] == THIRD
    )


def test_reassigning_to_the_same_district_is_refused(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, command = command_user(session)
    response = app_client.post(
        f"/api/referrals/{referral.id}/reassign",
        json={"to_district_code": RECEIVER},
        headers=auth(command),
    )
    assert response.status_code == 422


def test_deadlines_restart_on_a_new_hop(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    first_due = referral.acknowledge_due_at
    _, command = command_user(session)
    moved = app_client.post(
        f"/api/referrals/{referral.id}/reassign",
        json={"to_district_code": THIRD},
        headers=auth(command),
    ).json()
    from datetime import datetime

    assert datetime.fromisoformat(moved["acknowledge_due_at"]) - first_due > timedelta(hours=1)
