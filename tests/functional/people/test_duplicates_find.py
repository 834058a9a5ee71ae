"""Possible duplicate persons: the same national ID cannot be registered twice; the same name or
phone with the same birth date is proposed once within the jurisdiction; a dismissed pair is
never proposed again; another district's pair is not disclosed."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.people import building_in
from xietong.auth.models import AuditEntry
from xietong.core.errors import Conflict
from xietong.core.principal import SYSTEM, Role
from xietong.people import duplicates, service
from xietong.people.models import DuplicatePair, Person
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
from xietong.people.synthetic import synthetic_national_id

NOW = datetime(2022, 11, 14, 8, tzinfo=UTC)
BORN = date(1941, 3, 9)
_serial = itertools.count(1)


def person(
    session: Session,
    protector: PersonalDataProtector,
    *,
    name: str,
    phone: str | None = None,
    born: date = BORN,
    district: str = "500106",
    national_id: str | None = None,
) -> Person:
    return service.create_person(
        session,
        principal=SYSTEM,
        protector=protector,
        person_in=PersonCreate(
            national_id=national_id
            or synthetic_national_id(serial=next(_serial) % 1000, birth=born),
            name=name,
            phone=phone,
            residence_building_code=building_in(session, district).code,
        ),
    )


def pairs(session: Session) -> dict[tuple[int, int], DuplicatePair]:
    return {
        (p.first_person_id, p.second_person_id): p for p in session.scalars(select(DuplicatePair))
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_same_national_id_is_refused_at_registration(
    session: Session, protector: PersonalDataProtector
) -> None:
    number = synthetic_national_id(serial=901, birth=BORN)
    person(session, protector, name="张三", national_id=number)
    with pytest.raises(Conflict) as refused:
        # Written with a space: the normalised number hashes the same.
        person(session, protector, name="张叁", national_id=f"{number[:6]} {number[6:]}")
    assert refused.value.code == "person_exists"


def test_name_or_phone_with_the_birth_date_is_proposed_once(
    session: Session, protector: PersonalDataProtector
) -> None:
    a = person(session, protector, name="王 芳", phone="13800000001")
    b = person(session, protector, name="王芳", phone="+86 138-0000-0002")
    c = person(session, protector, name="李娜", phone="8613800000002")
    d = person(session, protector, name="王芳", phone="13800000002")
    # The same name and phone, another birth date: a namesake, not proposed.
    person(session, protector, name="王芳", phone="13800000002", born=date(1941, 3, 10))
    report = duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    found = pairs(session)
    assert {k: p.reason for k, p in found.items()} == {
        (a.id, b.id): "name_birth",
        (a.id, d.id): "name_birth",
        (b.id, c.id): "phone_birth",
        (b.id, d.id): "name_birth+phone_birth",
        (c.id, d.id): "phone_birth",
    }
    assert all(p.status == "open" for p in found.values())
    assert report.proposed == 5
    again = duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    assert again.proposed == 0
    assert again.open == report.open


def test_a_district_finds_only_pairs_within_its_jurisdiction(
    session: Session, protector: PersonalDataProtector
) -> None:
    ours = [person(session, protector, name="赵六", district="500106") for _ in range(2)]
    person(session, protector, name="钱七", district="500108")
    person(session, protector, name="钱七", district="500108")
    # One in each district: only the city sees both.
    person(session, protector, name="孙八", district="500106")
    person(session, protector, name="孙八", district="500108")
    principal, _ = district_user(session, "500106")
    report = duplicates.find_duplicates(session, principal=principal, now=NOW)
    assert report.proposed == 1
    assert list(pairs(session)) == [(ours[0].id, ours[1].id)]
    city = duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    assert city.proposed == 2


def test_a_dismissed_pair_is_never_proposed_again(
    session: Session, protector: PersonalDataProtector
) -> None:
    a = person(session, protector, name="周九")
    b = person(session, protector, name="周九")
    duplicates.find_duplicates(session, principal=SYSTEM, now=NOW)
    pair = pairs(session)[(a.id, b.id)]
    duplicates.dismiss(session, principal=SYSTEM, pair_id=pair.id, note="twins", now=NOW)
    assert duplicates.find_duplicates(session, principal=SYSTEM, now=NOW).proposed == 0
    assert pairs(session)[(a.id, b.id)].status == "dismissed"
    listed, total = duplicates.list_pairs(session, principal=SYSTEM, protector=protector)
    assert total == 0 and listed == []
    with pytest.raises(Conflict) as again:
        duplicates.dismiss(session, principal=SYSTEM, pair_id=pair.id, note=None, now=NOW)
    assert again.value.code == "pair_not_open"


def test_the_api_lists_finds_and_dismisses_within_the_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    a = person(session, protector, name="吴十", phone="13900000000")
    b = person(session, protector, name="吴十", phone="13900000000")
    _, token = district_user(session, "500106")
    found = app_client.post("/api/people/duplicates/find", headers=auth(token))
    assert found.status_code == 200, found.text
    assert found.json() == {"proposed": 1, "open": 1}
    listed = app_client.get("/api/people/duplicates", headers=auth(token))
    assert listed.status_code == 200
    [row] = listed.json()["items"]
    assert row["reason"] == "name_birth+phone_birth"
    assert (row["first"]["id"], row["second"]["id"]) == (a.id, b.id)
    assert row["first"]["name"] == "吴十"
    # Each person shown to compare is audited as read.
    audited = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.action == "list", AuditEntry.reason == "duplicate review"
        )
    ).all()
    assert sorted(audited) == sorted([str(a.id), str(b.id)])
    dismissed = app_client.post(
        f"/api/people/duplicates/{row['id']}/dismiss",
        json={"note": "father and son"},
        headers=auth(token),
    )
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    assert dismissed.json()["note"] == "father and son"
    assert app_client.get("/api/people/duplicates", headers=auth(token)).json()["total"] == 0
    shown = app_client.get("/api/people/duplicates?status=dismissed", headers=auth(token))
    assert shown.json()["total"] == 1


def test_another_districts_pair_is_not_found_and_other_roles_are_refused(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person(session, protector, name="郑一", district="500108")
    person(session, protector, name="郑一", district="500108")
    _, city = command_user(session)
    app_client.post("/api/people/duplicates/find", headers=auth(city))
    [pair] = pairs(session).values()
    _, other = district_user(session, "500106")
    listed = app_client.get("/api/people/duplicates", headers=auth(other))
    assert listed.json()["total"] == 0
    refused = app_client.post(
        f"/api/people/duplicates/{pair.id}/dismiss", json={}, headers=auth(other)
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "pair_not_found"
    _, field = make_user(session, role=Role.field_worker, district_code="500108")
    forbidden = app_client.post("/api/people/duplicates/find", headers=auth(field))
    assert forbidden.status_code == 403


def test_a_bad_request_names_the_field_and_the_reason(
    app_client: TestClient, session: Session
) -> None:
    _, city = command_user(session)
    bad = app_client.get("/api/people/duplicates?status=closed", headers=auth(city))
    assert bad.status_code == 422
    [error] = bad.json()["error"]["details"]
    assert error["field"] == "status"
    assert "open, merged, dismissed, superseded" in error["reason"]
