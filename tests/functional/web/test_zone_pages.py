"""Risk areas on screen: proposals decided from the page through the zones service, lifting
countdowns, and a public list that carries no personal data."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.web import csrf_of, log_in
from tests.factories.zones import area, building, resident
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


def area_ids(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'data-area-id="(\d+)"', html)}


def test_a_district_coordinator_approves_a_proposal_of_the_district(
    app_client: TestClient, session: Session
) -> None:
    proposed = area(session, building(session, "500106", 1), status="proposed")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get("/zones")
    proposals = page.text.split('id="proposals"')[1].split("</section>")[0]
    assert proposed.id in area_ids(proposals)
    response = app_client.post(
        f"/zones/{proposed.id}/approve",
        data={"csrf": csrf_of(app_client), "next": "/zones"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(proposed)
    assert proposed.status == "active"


def test_another_districts_coordinator_cannot_decide(
    app_client: TestClient, session: Session
) -> None:
    proposed = area(session, building(session, "500106", 2), status="proposed")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    response = app_client.post(f"/zones/{proposed.id}/approve", data={"csrf": csrf_of(app_client)})
    assert response.status_code in (403, 404)
    session.refresh(proposed)
    assert proposed.status == "proposed"


def test_rejecting_needs_a_reason(app_client: TestClient, session: Session) -> None:
    proposed = area(session, building(session, "500106", 3), status="proposed")
    log_in(app_client, session, role=Role.command)
    refused = app_client.post(
        f"/zones/{proposed.id}/reject", data={"csrf": csrf_of(app_client), "reason": " "}
    )
    assert refused.status_code == 400
    session.refresh(proposed)
    assert proposed.status == "proposed"


def test_a_locked_area_shows_its_clean_days_and_earliest_lifting(
    app_client: TestClient, session: Session
) -> None:
    locked = area(session, building(session, "500107", 0), status="active")
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/zones?district=500107&status=active")
    row = re.search(rf'data-area-id="{locked.id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert "生效中" in row.group(1)
    assert re.search(r"\d{4}-\d{2}-\d{2}", row.group(1))


def test_the_list_filters_by_district_and_pages(app_client: TestClient, session: Session) -> None:
    made = [area(session, building(session, "500112", i), status="active") for i in range(3)]
    other = area(session, building(session, "500113", 0), status="active")
    log_in(app_client, session, role=Role.command)
    listed = area_ids(app_client.get("/zones?district=500112&status=all&limit=100").text)
    assert {a.id for a in made} <= listed
    assert other.id not in listed
    paged = app_client.get("/zones?district=500112&status=all&limit=2")
    table = paged.text.split('id="areas"')[1]
    assert len(area_ids(table)) == 2
    assert 'rel="next"' in paged.text


def test_the_public_list_needs_no_login_and_names_no_person(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    place = building(session, "500104", 0)
    person = resident(session, protector, place, name="冯九")
    area(session, place, status="active")
    app_client.cookies.clear()
    page = app_client.get("/public/zones?district=500104")
    assert page.status_code == 200
    assert place.address_label in page.text
    assert "冯九" not in page.text
    assert person.id_masked not in page.text
    assert "/persons/" not in page.text
    assert not re.search(r"\d{4}\*{6,}", page.text)
    assert page.headers["cache-control"] == "public, max-age=60"
