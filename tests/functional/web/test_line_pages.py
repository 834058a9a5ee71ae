"""Lines on screen: every close contact and every quarantine order of a jurisdiction, each list
filtered by district, day and status, paged, exported as an audited CSV; a district sees the
contacts of its cases and those living in it, nothing of another district."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.auth import district_user
from tests.factories.cases import DAY, add_contact, at, make_case
from tests.factories.people import make_person
from tests.factories.resources import facility
from tests.factories.web import log_in
from xietong.auth.models import AuditEntry
from xietong.cases.models import CloseContact, QuarantineOrder
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


@dataclass
class Lines:
    case: int
    near: CloseContact  # lives in 沙坪坝 (500106), the case's district: a bed there
    far: CloseContact  # lives in 南岸 (500108), registered a day later: waits for a bed
    turned: CloseContact  # lives in 沙坪坝, became a case
    hidden: CloseContact  # a contact of a 北碚 (500109) case, living there
    facility: str


def _lines(session: Session, protector: PersonalDataProtector) -> Lines:
    beds = facility(session, district_code="500106", beds=10)
    case = make_case(session, protector, district_code="500106")
    near = add_contact(session, protector, case)
    far = add_contact(
        session, protector, case, district_code="500108", starts_on=DAY + timedelta(1)
    )
    person = make_person(session, protector, district_code="500106")
    turned = add_contact(session, protector, case, person=person)
    make_case(session, protector, person=person, detected_at=at(DAY + timedelta(days=2)))
    other = make_case(session, protector, district_code="500109")
    hidden = add_contact(session, protector, other)
    return Lines(case.id, near, far, turned, hidden, beds.code)


def _ids(html: str, attribute: str) -> set[int]:
    return {int(i) for i in re.findall(rf'{attribute}="(\d+)"', html)}


def _order(session: Session, contact: CloseContact) -> QuarantineOrder:
    order = session.scalar(select(QuarantineOrder).where(QuarantineOrder.contact_id == contact.id))
    assert order is not None
    return order


def test_the_contacts_list_filters_by_district_day_and_status_and_links_each_row(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    everyone = {c.id for c in (lines.near, lines.far, lines.turned, lines.hidden)}
    log_in(app_client, session, role=Role.command)

    page = app_client.get("/contacts")
    assert page.status_code == 200, page.text
    assert _ids(page.text, "data-contact-id") == everyone
    assert f'href="/cases/{lines.case}#contacts"' in page.text
    assert f'href="/persons/{lines.near.person_id}"' in page.text
    assert lines.facility in page.text
    assert 'href="/contacts"' in page.text  # in the navigation

    by_district = app_client.get("/contacts?district=500108")
    assert _ids(by_district.text, "data-contact-id") == {lines.far.id}
    next_day = (DAY + timedelta(days=1)).isoformat()
    assert _ids(app_client.get(f"/contacts?day={next_day}").text, "data-contact-id") == {
        lines.far.id
    }
    assert _ids(app_client.get("/contacts?status=became_case").text, "data-contact-id") == {
        lines.turned.id
    }
    assert _ids(app_client.get("/contacts?status=waiting").text, "data-contact-id") >= {
        lines.far.id
    }
    assert lines.near.id not in _ids(
        app_client.get("/contacts?status=waiting").text, "data-contact-id"
    )

    first = app_client.get("/contacts?limit=2")
    second = app_client.get("/contacts?limit=2&offset=2")
    assert len(_ids(first.text, "data-contact-id")) == 2
    assert _ids(first.text, "data-contact-id") | _ids(second.text, "data-contact-id") == everyone
    assert 'rel="next"' in first.text and 'rel="next"' not in second.text

    english = app_client.get("/contacts?status=became_case&lang=en")
    assert "became a case" in english.text and ">became_case<" not in english.text


def test_a_district_sees_the_contacts_of_its_cases_and_those_living_in_it_only(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    tracing = _ids(app_client.get("/contacts").text, "data-contact-id")
    assert tracing == {lines.near.id, lines.far.id, lines.turned.id}

    log_in(app_client, session, role=Role.field_worker, district_code="500108")
    assert _ids(app_client.get("/contacts").text, "data-contact-id") == {lines.far.id}
    orders = app_client.get("/quarantine")
    assert _ids(orders.text, "data-order-id") == {_order(session, lines.far).id}

    for role in (Role.viewer, Role.lab):
        log_in(app_client, session, role=role)
        for path in ("/contacts", "/quarantine"):
            refused = app_client.get(path)
            assert refused.status_code == 403, (role, path)
        assert 'href="/contacts"' not in app_client.get("/zones").text


def test_the_quarantine_list_shows_each_orders_test_days_and_bed_and_filters(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    near, far, turned = (_order(session, c) for c in (lines.near, lines.far, lines.turned))
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/quarantine")
    assert page.status_code == 200, page.text
    assert {near.id, far.id, turned.id} <= _ids(page.text, "data-order-id")
    row = re.search(rf'<tr data-order-id="{near.id}".*?</tr>', page.text, re.S)
    assert row is not None
    assert lines.facility in row.group(0)
    assert f'href="/cases/{lines.case}#contacts"' in row.group(0)
    for day in near.test_days:
        assert day[5:] in row.group(0)  # shown as MM-DD

    assert _ids(app_client.get("/quarantine?district=500108").text, "data-order-id") == {far.id}
    waiting = _ids(app_client.get("/quarantine?status=waiting").text, "data-order-id")
    assert far.id in waiting and near.id not in waiting
    assert _ids(app_client.get("/quarantine?status=became_case").text, "data-order-id") == {
        turned.id
    }
    active = _ids(app_client.get("/quarantine?status=active&district=500106").text, "data-order-id")
    assert near.id in active and turned.id not in active


def test_both_lists_export_as_audited_csv_with_a_byte_order_mark(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    exported = app_client.get("/contacts?format=csv&district=500108")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [int(r["id"]) for r in rows] == [lines.far.id]
    assert rows[0]["case_id"] == str(lines.case)
    assert rows[0]["order_status"] == "active" and rows[0]["awaiting_bed"] == "1"

    orders = app_client.get("/quarantine?format=csv&status=active")
    assert orders.content.startswith(b"\xef\xbb\xbf")
    order_rows = list(csv.DictReader(io.StringIO(orders.content.decode("utf-8-sig"))))
    near = _order(session, lines.near)
    mine = [r for r in order_rows if int(r["id"]) == near.id]
    assert mine and mine[0]["facility"] == lines.facility
    assert mine[0]["test_days"] == " ".join(near.test_days)
    assert all(r["status"] == "active" for r in order_rows)

    exports = session.scalars(
        select(AuditEntry.entity_id).where(
            AuditEntry.username == principal.username,
            AuditEntry.action == "export",
            AuditEntry.entity == "list",
        )
    ).all()
    assert set(exports) == {"contacts", "quarantine-orders"}


def test_the_api_lists_the_same_contacts_as_the_page(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    _, token = district_user(session, "500106")
    answer = app_client.get(
        "/api/cases/contacts?status=became_case", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    assert [c["id"] for c in answer.json()["items"]] == [lines.turned.id]
    everything = app_client.get("/api/cases/contacts", headers={"Authorization": f"Bearer {token}"})
    assert {c["id"] for c in everything.json()["items"]} == {
        lines.near.id,
        lines.far.id,
        lines.turned.id,
    }
    refused = app_client.get(
        "/api/cases/contacts?status=unknown", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status_code == 422


def test_an_order_has_its_page_with_its_days_bed_and_case_within_the_jurisdiction(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    lines = _lines(session, protector)
    near, hidden = _order(session, lines.near), _order(session, lines.hidden)
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    listed = app_client.get("/quarantine")
    assert f'href="/quarantine/{near.id}"' in listed.text
    assert f'href="/quarantine/{near.id}"' in app_client.get("/contacts").text
    page = app_client.get(f"/quarantine/{near.id}")
    assert page.status_code == 200, page.text
    assert f'data-order-id="{near.id}"' in page.text
    assert lines.facility in page.text
    assert f'href="/cases/{lines.case}#contacts"' in page.text
    assert f'href="/persons/{lines.near.person_id}"' in page.text
    days = re.search(r'id="order-test-days">(.*?)</dd>', page.text)
    assert days is not None and days.group(1).split() == near.test_days
    assert app_client.get(f"/quarantine/{hidden.id}").status_code == 404
