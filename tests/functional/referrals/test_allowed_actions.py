"""`allowed_actions` lists, by route name, what the caller may do now: the same rule that
authorises the action decides what is offered, so whatever is offered is accepted and whatever
is withheld is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.referrals import RECEIVER, SENDER, THIRD, make_referral
from xietong.people.protection import PersonalDataProtector

BODIES = {
    "close": {"feedback": "已管控"},
    "decline": {"reason": "查无此人"},
    "reassign": {"to_district_code": THIRD},
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def offered(client: TestClient, referral_id: int, token: str) -> list[str]:
    answer = client.get(f"/api/referrals/{referral_id}", headers=auth(token))
    assert answer.status_code == 200, answer.text
    routes: list[str] = answer.json()["allowed_actions"]
    return routes


def test_each_caller_is_offered_exactly_the_routes_it_may_call(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    referral = make_referral(session, protector)
    _, receiver = district_user(session, RECEIVER)
    _, sender = district_user(session, SENDER)
    _, command = command_user(session)
    assert offered(app_client, referral.id, receiver) == ["acknowledge", "decline"]
    assert offered(app_client, referral.id, command) == ["acknowledge", "decline", "reassign"]
    assert offered(app_client, referral.id, sender) == []
    for route in ("acknowledge", "decline", "reassign"):
        refused = app_client.post(
            f"/api/referrals/{referral.id}/{route}", json=BODIES.get(route), headers=auth(sender)
        )
        assert refused.status_code == 403, (route, refused.text)
    refused = app_client.post(
        f"/api/referrals/{referral.id}/reassign", json=BODIES["reassign"], headers=auth(receiver)
    )
    assert refused.status_code == 403, refused.text
    # The routes offered are the routes that exist, walked to the end by the receiving district.
    for expected in (["acknowledge", "decline"], ["located", "decline"], ["controlled"], ["close"]):
        routes = offered(app_client, referral.id, receiver)
        assert routes == expected
        route = routes[0]
        done = app_client.post(
            f"/api/referrals/{referral.id}/{route}", json=BODIES.get(route), headers=auth(receiver)
        )
        assert done.status_code == 200, (route, done.text)
    assert offered(app_client, referral.id, receiver) == []
