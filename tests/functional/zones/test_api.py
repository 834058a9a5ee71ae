"""The zones API: a district's proposals and decisions, never wider than a building, the steps of
an area, the risk status of buildings and persons (scoped and audited), and the public list that
needs no token and carries no personal field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.zones import NOV, TZ, area, at, building, infection, resident
from xietong.areas.models import Community, Street
from xietong.auth.models import AuditEntry
from xietong.core.clock import local_day
from xietong.core.principal import SYSTEM, Role
from xietong.people.protection import PersonalDataProtector
from xietong.zones import service


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def today() -> object:
    return local_day(datetime.now(UTC), "Asia/Shanghai")


# --- never widened --------------------------------------------------------------------------


def test_a_request_naming_a_community_is_refused_with_a_clear_error(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")
    home = building(session, "500106", 0)
    community = session.get(Community, home.community_id)
    assert community is not None
    for body in (
        {"community_code": community.code, "reason": "cluster"},
        {"building_code": community.code, "reason": "cluster"},
    ):
        response = app_client.post("/api/zones/proposals", headers=auth(token), json=body)
        assert response.status_code == 422, body
        error = response.json()["error"]
        assert error["code"] == "area_never_widened"
        assert "is a community" in error["message"] and "exactly one building" in error["message"]
    street = session.get(Street, community.street_id)
    assert street is not None
    response = app_client.post(
        "/api/zones/designations",
        headers=auth(token),
        json={"building_code": street.code, "reason": "cluster"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "area_never_widened"
    count = app_client.get("/api/zones", headers=auth(token), params={"district": "500106"})
    assert count.json()["total"] == 0


def test_a_request_without_a_building_is_refused(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    response = app_client.post("/api/zones/proposals", headers=auth(token), json={"reason": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "area_never_widened"


def test_an_unknown_building_is_not_found(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    response = app_client.post(
        "/api/zones/proposals",
        headers=auth(token),
        json={"building_code": "nowhere", "reason": "x"},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "building_not_found"


# --- the approval flow through the API -------------------------------------------------------


def test_a_district_proposes_approves_and_lifts_through_the_api(
    app_client: TestClient, session: Session
) -> None:
    principal, token = district_user(session, "500106")
    home = building(session, "500106", 1)
    created = app_client.post(
        "/api/zones/proposals",
        headers=auth(token),
        json={"building_code": home.code, "reason": "surface case in unit 2"},
    )
    assert created.status_code == 201
    area_id = created.json()["id"]
    assert created.json()["status"] == "proposed"
    approved = app_client.post(f"/api/zones/{area_id}/approve", headers=auth(token), json={})
    assert approved.status_code == 200
    assert approved.json()["status"] == "active"
    assert approved.json()["active_from"] == str(today())
    refused = app_client.post(f"/api/zones/{area_id}/lift", headers=auth(token), json={})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "reason_required"
    lifted = app_client.post(
        f"/api/zones/{area_id}/lift", headers=auth(token), json={"reason": "misreported case"}
    )
    assert lifted.json()["status"] == "lifted"
    detail = app_client.get(f"/api/zones/{area_id}", headers=auth(token)).json()
    assert [(e["step"], e["username"]) for e in detail["events"]] == [
        ("proposed", principal.username),
        ("approved", principal.username),
        ("lifted", principal.username),
    ]
    assert all(e["policy_version"] == "2022-11-11" for e in detail["events"])


def test_another_district_cannot_decide_and_a_repeated_decision_conflicts(
    app_client: TestClient, session: Session
) -> None:
    proposed = area(session, building(session, "500106", 2), status="proposed")
    _, outsider = district_user(session, "500108")
    response = app_client.post(f"/api/zones/{proposed.id}/approve", headers=auth(outsider), json={})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "other_district"
    _, own = district_user(session, "500106")
    rejected = app_client.post(
        f"/api/zones/{proposed.id}/reject", headers=auth(own), json={"reason": "moved out"}
    )
    assert rejected.json()["status"] == "rejected"
    again = app_client.post(f"/api/zones/{proposed.id}/approve", headers=auth(own), json={})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "area_wrong_status"


def test_a_rejection_without_a_reason_is_refused_by_the_api(
    app_client: TestClient, session: Session
) -> None:
    proposed = area(session, building(session, "500106", 3), status="proposed")
    _, token = command_user(session)
    response = app_client.post(f"/api/zones/{proposed.id}/reject", headers=auth(token), json={})
    assert response.status_code == 422
    assert "body.reason" in [d["field"] for d in response.json()["error"]["details"]]


def test_a_proposed_lifting_can_be_rejected_through_the_api(
    app_client: TestClient, session: Session
) -> None:
    awaiting = area(session, building(session, "500106", 4), status="lifting_proposed")
    _, token = district_user(session, "500106")
    response = app_client.post(
        f"/api/zones/{awaiting.id}/lifting/reject",
        headers=auth(token),
        json={"reason": "contacts pending"},
    )
    assert response.json()["status"] == "active"
    assert response.json()["countdown_from"] == str(today() + timedelta(days=1))  # type: ignore[operator]


def test_the_list_filters_by_district_and_status(app_client: TestClient, session: Session) -> None:
    area(session, building(session, "500107", 0), status="active")
    area(session, building(session, "500107", 1), status="proposed")
    area(session, building(session, "500108", 0), status="active")
    _, token = command_user(session)
    page = app_client.get(
        "/api/zones", headers=auth(token), params={"district": "500107", "status": "active"}
    ).json()
    assert page["total"] == 1
    assert page["items"][0]["district_code"] == "500107"
    bad = app_client.get("/api/zones", headers=auth(token), params={"status": "closed"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "status_unknown"


def test_only_the_command_centre_runs_the_evaluation(
    app_client: TestClient, session: Session
) -> None:
    _, district = district_user(session, "500106")
    denied = app_client.post(
        "/api/zones/evaluations", headers=auth(district), json={"day": "2022-11-19"}
    )
    assert denied.status_code == 403
    _, command = command_user(session)
    report = app_client.post(
        "/api/zones/evaluations", headers=auth(command), json={"day": "2022-11-19"}
    )
    assert report.status_code == 200
    assert report.json()["policy_version"] == "2022-11-11"


# --- what follows: the risk status in the API ------------------------------------------------


def test_a_newly_active_areas_residents_get_the_status(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 5)
    person = resident(session, protector, home)
    _, token = district_user(session, "500106")
    before = app_client.get(f"/api/zones/persons/{person.id}", headers=auth(token)).json()
    assert before["in_high_risk_area"] is False
    assert before["residence"]["risk_level"] == "low"
    assert before["residence"]["screening"]["status"] == "central_urban_area"
    assert before["residence"]["screening"]["every_days"] == 2
    proposed = app_client.post(
        "/api/zones/designations",
        headers=auth(token),
        json={"building_code": home.code, "reason": "cluster"},
    ).json()
    after = app_client.get(f"/api/zones/persons/{person.id}", headers=auth(token)).json()
    assert after["in_high_risk_area"] is True
    residence = after["residence"]
    assert (residence["risk_level"], residence["area_id"], residence["designated_on"]) == (
        "high",
        proposed["id"],
        str(today()),
    )
    assert residence["screening"] == {
        "mode": "by_area_status",
        "status": "high_risk_area",
        "every_days": 1,
        "single_tube": True,
    }
    assert residence["earliest_lifting_on"] == str(today() + timedelta(days=4))  # type: ignore[operator]


def test_a_persons_status_is_scoped_and_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = resident(session, protector, building(session, "500106", 0))
    _, outsider = district_user(session, "500108")
    hidden = app_client.get(f"/api/zones/persons/{person.id}", headers=auth(outsider))
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "person_not_found"
    _, own = district_user(session, "500106")
    assert app_client.get(f"/api/zones/persons/{person.id}", headers=auth(own)).status_code == 200
    audited = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "person",
            AuditEntry.entity_id == str(person.id),
            AuditEntry.action == "read",
        )
    )
    assert audited == 1


def test_the_status_of_a_building_names_its_area_and_last_infection(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500235", 0)  # 云阳县: outside the central urban area
    infection(session, protector, home, NOV[14])
    _, token = command_user(session)
    status = app_client.get(
        f"/api/zones/buildings/{home.code}", headers=auth(token), params={"day": "2022-11-15"}
    ).json()
    assert (status["risk_level"], status["area_status"], status["last_infection_on"]) == (
        "low",
        "proposed",
        "2022-11-14",
    )
    assert status["screening"]["status"] == "other_districts"
    assert status["screening"]["every_days"] is None


def test_residents_of_a_locked_building_are_listed_masked_and_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500106", 1)
    people = [resident(session, protector, home, name=f"居民{i}") for i in range(3)]
    locked = area(session, home, status="active")
    _, token = district_user(session, "500106")
    page = app_client.get(f"/api/zones/{locked.id}/residents", headers=auth(token)).json()
    assert page["total"] == 3
    assert {r["id"] for r in page["items"]} == {p.id for p in people}
    assert all(set(r) == {"id", "id_masked", "current_district_code"} for r in page["items"])
    listed = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.action == "list",
            AuditEntry.reason == f"residents of high-risk area {locked.id}",
        )
    )
    assert listed == 3
    _, viewer = make_user(session, role=Role.viewer)
    assert (
        app_client.get(f"/api/zones/{locked.id}/residents", headers=auth(viewer)).status_code == 403
    )


# --- the public list ---------------------------------------------------------------------------

PUBLIC_KEYS = {
    "district_code",
    "district_name",
    "address_label",
    "designated_on",
    "earliest_lifting_on",
}


def test_the_public_list_needs_no_token_and_carries_no_personal_field(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    home = building(session, "500103", 0)
    person = resident(session, protector, home, name="李四")
    infection(session, protector, home, NOV[14])
    proposal = service.open_area_of(session, building_id=home.id)
    assert proposal is not None
    service.approve_area(session, principal=SYSTEM, area_id=proposal.id, now=at(NOV[14], 13), tz=TZ)
    designated = building(session, "500103", 1)
    area(session, designated, status="active", active_from=NOV[15])
    area(session, building(session, "500103", 2), status="proposed", active_from=NOV[15])
    area(
        session,
        building(session, "500103", 3),
        status="lifted",
        active_from=NOV[10],
        lifted_on=NOV[15],
    )

    response = app_client.get(
        "/api/public/zones", params={"district": "500103", "day": "2022-11-16"}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    body = response.json()
    assert set(body) == {
        "as_of",
        "policy_version",
        "lift_after_clean_days",
        "items",
        "total",
        "limit",
        "offset",
    }
    assert (body["total"], body["lift_after_clean_days"]) == (2, 5)
    assert all(set(item) == PUBLIC_KEYS for item in body["items"])
    assert [(i["address_label"], i["designated_on"]) for i in body["items"]] == [
        (home.address_label, "2022-11-14"),
        (designated.address_label, "2022-11-15"),
    ]
    assert body["items"][0]["district_name"] == "渝中区"
    for personal in ("李四", person.id_masked, "13900000000", "person", "case", "reason"):
        assert personal not in response.text


def test_the_public_list_as_of_a_day_shows_the_areas_locked_that_day(
    app_client: TestClient, session: Session
) -> None:
    area(
        session,
        building(session, "500104", 0),
        status="lifted",
        active_from=NOV[14],
        lifted_on=NOV[19],
    )
    for day, expected in (
        ("2022-11-13", 0),
        ("2022-11-14", 1),
        ("2022-11-18", 1),
        ("2022-11-19", 0),
    ):
        body = app_client.get("/api/public/zones", params={"district": "500104", "day": day}).json()
        assert body["total"] == expected, day
