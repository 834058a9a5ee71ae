"""No disclosure by national ID: outside its jurisdiction a district registering a contact gets
the same answer whether the ID is another district's person, a case, or unknown, and is granted
nothing; the person's district gets the referral at once. A person registered twice is named
only to who may see it. Links to a case the caller may not see are proposals the other district
confirms, and answer alike whether that case exists or not."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import make_case
from tests.factories.people import building_in, next_national_id
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.referrals.models import Referral

MINE, THEIRS = "500106", "500107"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _person_with_id(
    session: Session, protector: PersonalDataProtector, district: str
) -> tuple[str, int]:
    national_id = next_national_id()
    person = people_service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=national_id,
            name="他区人员",
            phone="13700000000",
            residence_building_code=building_in(session, district).code,
        ),
    )
    return national_id, person.id


def _shape(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without what differs between any two registrations (ids, instants)."""
    drop = {"id", "registered_at", "contact_id", "case_id"}
    shaped = {k: v for k, v in body.items() if k not in drop}
    if isinstance(shaped.get("quarantine_order"), dict):
        shaped["quarantine_order"] = {
            k: v for k, v in shaped["quarantine_order"].items() if k not in drop
        }
    return shaped


def test_a_contact_by_national_id_answers_alike_for_a_person_a_case_and_nobody(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code=MINE)
    _, token = district_user(session, MINE)
    person_id_number, person_id = _person_with_id(session, protector, THEIRS)
    case_id_number, case_person_id = _person_with_id(session, protector, THEIRS)
    make_case(session, protector, person=session.get_one(Person, case_person_id))
    unknown = next_national_id()
    answers = {}
    for label, number in [
        ("person", person_id_number),
        ("case", case_id_number),
        ("unknown", unknown),
    ]:
        response = app_client.post(
            f"/api/cases/{case.id}/contacts",
            headers=_auth(token),
            json={
                "national_id": number,
                "name": "王某",
                "phone": "13911112222",
                "residence_district_code": THEIRS,
                "exposure_kind": "workplace",
            },
        )
        answers[label] = (response.status_code, _shape(response.json()))
    assert answers["person"] == answers["case"] == answers["unknown"]
    assert answers["person"][0] == 201
    assert answers["person"][1]["person_id"] is None
    # Without the name and residence every one of them is refused the same way.
    refusals = [
        app_client.post(
            f"/api/cases/{case.id}/contacts",
            headers=_auth(token),
            json={"national_id": number, "exposure_kind": "workplace"},
        )
        for number in (person_id_number, case_id_number, next_national_id())
    ]
    assert {(r.status_code, r.text) for r in refusals} == {(422, refusals[0].text)}
    # Nothing is granted: the persons stay out of sight.
    for pid in (person_id, case_person_id):
        assert app_client.get(f"/api/people/{pid}", headers=_auth(token)).status_code == 404
    # The responsible district was pushed a referral for each, in the same transaction.
    referred = set(
        session.scalars(
            select(Referral.person_id).where(Referral.person_id.in_([person_id, case_person_id]))
        )
    )
    assert referred == {person_id, case_person_id}


def test_registering_another_districts_person_does_not_name_the_record(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    number, _ = _person_with_id(session, protector, THEIRS)
    _, token = district_user(session, MINE)
    answer = app_client.post(
        "/api/people",
        headers=_auth(token),
        json={
            "national_id": number,
            "name": "某人",
            "residence_building_code": building_in(session, MINE).code,
        },
    )
    assert answer.status_code == 409
    assert "details" not in answer.json()["error"]
    assert "person_id" not in answer.text


def test_a_link_to_a_case_out_of_sight_is_a_proposal_alike_for_any_case(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    mine = make_case(session, protector, district_code=MINE)
    theirs = make_case(session, protector, district_code=THEIRS)
    _, token = district_user(session, MINE)
    answers = []
    for other in (theirs.id, theirs.id + 10_000):
        response = app_client.post(
            "/api/cases/links",
            headers=_auth(token),
            json={
                "source_case_id": other,
                "target_case_id": mine.id,
                "evidence_kind": "household",
                "evidence": "同住",
            },
        )
        body = response.json()
        answers.append(
            (
                response.status_code,
                {k: v for k, v in body.items() if k not in ("id", "created_at", "source_case_id")},
            )
        )
    assert answers[0] == answers[1] and answers[0][0] == 202
    # Until the other district confirms, the chain shows nothing of its case.
    chains = app_client.get("/api/cases/chains", headers=_auth(token)).json()
    assert theirs.id not in {
        n["case_id"] for c in chains.get("items", []) for n in c.get("nodes", [])
    }
    _, owner = district_user(session, THEIRS)
    inbox = app_client.get("/api/cases/link-proposals", headers=_auth(owner)).json()
    assert len(inbox["items"]) == 1 and inbox["items"][0]["source_case_id"] == theirs.id
    rejected = app_client.post(
        f"/api/cases/link-proposals/{inbox['items'][0]['id']}/reject", headers=_auth(owner)
    )
    assert rejected.status_code == 204
