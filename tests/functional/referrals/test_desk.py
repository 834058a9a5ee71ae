"""The receiving district's desk over the API: several referrals acknowledged at once (each as one
would be, a refused one named and left as it was), notes in a referral's history, a referral given
to a field worker of the receiving district and found again by "mine", and the inbox sorted by
the nearest deadline."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.clock import TZ
from tests.factories.referrals import (
    PUSHED_AT,
    RECEIVER,
    SENDER,
    THIRD,
    bring_to,
    make_referral,
)
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.referrals.actions import service as action_service
from xietong.referrals.inbox import service as query_service
from xietong.referrals.models import ReferralEvent
from xietong.referrals.states import Status


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events(session: Session, referral_id: int, action: str) -> int:
    return int(
        session.scalar(
            select(func.count(ReferralEvent.id)).where(
                ReferralEvent.referral_id == referral_id, ReferralEvent.action == action
            )
        )
        or 0
    )


def audited(session: Session, referral_id: int, action: str) -> int:
    return int(
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.entity == "referral",
                AuditEntry.entity_id == str(referral_id),
                AuditEntry.action == action,
            )
        )
        or 0
    )


def test_several_are_acknowledged_at_once_and_a_refused_one_is_named_and_left_as_it_was(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    first, done_before, last = (make_referral(session, protector) for _ in range(3))
    bring_to(session, done_before, Status.acknowledged)
    elsewhere = make_referral(session, protector, to_code=THIRD)
    _, token = district_user(session, RECEIVER)
    ids = [first.id, done_before.id, elsewhere.id, last.id, first.id]
    response = app_client.post(
        "/api/referrals/acknowledge", json={"referral_ids": ids}, headers=auth(token)
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["acknowledged"] == [first.id, last.id]
    refused = {r["referral_id"]: r for r in answer["refused"]}
    assert set(refused) == {done_before.id, elsewhere.id}
    assert refused[done_before.id]["field"] == "status"
    assert "acknowledged" in refused[done_before.id]["reason"]
    assert refused[elsewhere.id]["reason"] == f"no referral {elsewhere.id}"
    for referral in (first, last):
        session.refresh(referral)
        assert referral.status == Status.acknowledged.value
        assert events(session, referral.id, "acknowledged") == 1
        assert audited(session, referral.id, "acknowledged") == 1
    session.refresh(elsewhere)
    assert elsewhere.status == Status.pushed.value
    assert events(session, done_before.id, "acknowledged") == 1


def test_acknowledging_at_once_follows_the_rule_for_one(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, sender = district_user(session, SENDER)
    response = app_client.post(
        "/api/referrals/acknowledge", json={"referral_ids": [referral.id]}, headers=auth(sender)
    )
    assert response.status_code == 200
    assert response.json()["acknowledged"] == []
    assert response.json()["refused"][0]["reason"] == (
        "only the receiving district acts on this referral"
    )
    empty = app_client.post(
        "/api/referrals/acknowledge", json={"referral_ids": []}, headers=auth(sender)
    )
    assert empty.status_code == 422
    _, lab = make_user(session, role=Role.lab, district_code=RECEIVER)
    refused = app_client.post(
        "/api/referrals/acknowledge", json={"referral_ids": [referral.id]}, headers=auth(lab)
    )
    assert refused.status_code == 403
    session.refresh(referral)
    assert referral.status == Status.pushed.value


def test_a_note_enters_the_history_with_its_author_and_the_server_time(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    receiver, token = district_user(session, RECEIVER)
    written = app_client.post(
        f"/api/referrals/{referral.id}/notes",
        json={"text": "电话未接通，已联系社区网格员"},
        headers=auth(token),
    )
    assert written.status_code == 201, written.text
    note = written.json()
    assert note["action"] == "noted" and note["actor"] == receiver.username
    assert note["note"] == "电话未接通，已联系社区网格员"
    assert note["to_status"] == note["from_status"] == "pushed"
    assert audited(session, referral.id, "noted") == 1
    _, sender = district_user(session, SENDER)
    history = app_client.get(f"/api/referrals/{referral.id}/history", headers=auth(sender))
    assert [e["note"] for e in history.json() if e["action"] == "noted"] == [note["note"]]
    blank = app_client.post(
        f"/api/referrals/{referral.id}/notes", json={"text": "   "}, headers=auth(token)
    )
    assert blank.status_code == 422
    assert blank.json()["error"]["details"][0]["field"] == "text"
    _, third = district_user(session, THIRD)
    hidden = app_client.post(
        f"/api/referrals/{referral.id}/notes", json={"text": "x"}, headers=auth(third)
    )
    assert hidden.status_code == 404
    assert events(session, referral.id, "noted") == 1


def test_a_referral_is_given_to_a_field_worker_of_the_receiving_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    other = make_referral(session, protector)
    _, coordinator = district_user(session, RECEIVER)
    worker, worker_token = make_user(session, role=Role.field_worker, district_code=RECEIVER)
    _, colleague_token = make_user(session, role=Role.field_worker, district_code=RECEIVER)
    stranger, _ = make_user(session, role=Role.field_worker, district_code=SENDER)
    listed = app_client.get(f"/api/referrals/{referral.id}/assignable", headers=auth(coordinator))
    assert worker.username in listed.json() and stranger.username not in listed.json()

    assigned = app_client.post(
        f"/api/referrals/{referral.id}/assign",
        json={"assignee": worker.username},
        headers=auth(coordinator),
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == worker.username
    assert events(session, referral.id, "assigned") == 1
    assert audited(session, referral.id, "assigned") == 1
    mine = app_client.get("/api/referrals?mine=true", headers=auth(worker_token)).json()
    assert [item["id"] for item in mine["items"]] == [referral.id]
    assert mine["items"][0]["assignee"] == worker.username
    theirs = app_client.get("/api/referrals?mine=true", headers=auth(colleague_token)).json()
    assert theirs["items"] == []
    everything = app_client.get("/api/referrals", headers=auth(worker_token)).json()
    assert {referral.id, other.id} <= {item["id"] for item in everything["items"]}

    for name, why in ((stranger.username, "not a user of the receiving district"),):
        refused = app_client.post(
            f"/api/referrals/{referral.id}/assign",
            json={"assignee": name},
            headers=auth(coordinator),
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["reason"] == why
    nobody = app_client.post(
        f"/api/referrals/{referral.id}/assign", json={"assignee": None}, headers=auth(coordinator)
    )
    assert nobody.status_code == 200 and nobody.json()["assignee"] is None
    assert events(session, referral.id, "unassigned") == 1


def test_only_the_receiving_coordinator_or_the_command_centre_assigns(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    worker, worker_token = make_user(session, role=Role.field_worker, district_code=RECEIVER)
    coordinator, _ = district_user(session, RECEIVER)
    _, sender = district_user(session, SENDER)
    body = {"assignee": worker.username}
    for token in (sender, worker_token):
        response = app_client.post(
            f"/api/referrals/{referral.id}/assign", json=body, headers=auth(token)
        )
        assert response.status_code == 403
    not_a_worker = app_client.post(
        f"/api/referrals/{referral.id}/assign",
        json={"assignee": coordinator.username},
        headers=auth(command_user(session)[1]),
    )
    assert not_a_worker.status_code == 422
    assert not_a_worker.json()["error"]["details"][0]["reason"] == "not a field worker"
    _, command = command_user(session)
    done = app_client.post(f"/api/referrals/{referral.id}/assign", json=body, headers=auth(command))
    assert done.status_code == 200 and done.json()["assignee"] == worker.username
    closed = bring_to(session, make_referral(session, protector), Status.closed)
    late = app_client.post(f"/api/referrals/{closed.id}/assign", json=body, headers=auth(command))
    assert late.status_code == 422


def test_a_referral_pushed_to_another_district_leaves_its_assignee_behind(
    session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    worker, _ = make_user(session, role=Role.field_worker, district_code=RECEIVER)
    command, _ = command_user(session)
    action_service.assign(
        session,
        principal=command,
        referral_id=referral.id,
        assignee=worker.username,
        at=PUSHED_AT + timedelta(minutes=1),
    )
    action_service.reassign(
        session,
        principal=command,
        referral_id=referral.id,
        to_district_code=THIRD,
        at=PUSHED_AT + timedelta(minutes=2),
        tz=TZ,
    )
    assert referral.assignee is None and referral.assigned_at is None


def test_the_inbox_sorts_by_the_nearest_deadline_to_come(
    session: Session, protector: PersonalDataProtector
) -> None:
    # Pushed 90, 30 and 10 minutes before now: the first is past its one-hour acknowledgement.
    now = PUSHED_AT + timedelta(hours=2)
    late = make_referral(session, protector, at=now - timedelta(minutes=90))
    soon = make_referral(session, protector, at=now - timedelta(minutes=30))
    fresh = make_referral(session, protector, at=now - timedelta(minutes=10))
    # Acknowledged 45 minutes ago: its next deadline is the four-hour one, further away.
    working = make_referral(session, protector, at=now - timedelta(minutes=45))
    command, _ = command_user(session)
    action_service.act(
        session,
        principal=command,
        referral_id=working.id,
        action=action_service.STEPS["acknowledge"],
        at=now - timedelta(minutes=44),
        tz=TZ,
    )
    closed = bring_to(
        session, make_referral(session, protector, at=now - timedelta(hours=3)), Status.closed
    )
    ours = {late.id, soon.id, fresh.id, working.id, closed.id}

    def order(sort: str) -> list[int]:
        items, _ = query_service.list_referrals(
            session,
            principal=command,
            now=now,
            sort=sort,
            limit=500,  # type: ignore[arg-type]
        )
        return [i.id for i in items if i.id in ours]

    assert order("deadline") == [soon.id, fresh.id, working.id, late.id, closed.id]
    assert order("urgent") == [late.id, soon.id, fresh.id, working.id, closed.id]
    assert order("newest")[:4] == [fresh.id, soon.id, working.id, late.id]
