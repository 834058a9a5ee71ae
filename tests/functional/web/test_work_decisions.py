"""Decisions and hand-offs from the screen: a contact registered on a case page who lives in
another district is pushed there at once and its answer reaches the sender with an unread mark;
a decision posted twice with one form key acts once; exports are CSV that Excel and pandas read
with the Chinese intact and no formula."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.cases import make_case
from tests.factories.people import next_national_id
from tests.factories.web import csrf_of, log_in
from tests.factories.zones import area, building, resident
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector
from xietong.zones import service as zones_service


def test_a_contact_living_elsewhere_is_referred_at_once_and_its_answer_is_unread(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    case = make_case(session, protector, district_code="500106")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    sender_cookies = dict(app_client.cookies)
    page = app_client.get(f"/cases/{case.id}")
    assert page.status_code == 200 and 'id="add-contact"' in page.text
    registered = app_client.post(
        f"/cases/{case.id}/contacts",
        data={
            "csrf": csrf_of(app_client),
            "national_id": next_national_id(),
            "name": "周十",
            "residence_district": "500108",
            "exposure_kind": "household",
            "form_key": "contact-1",
        },
        follow_redirects=False,
    )
    assert registered.status_code == 303, registered.text
    assert "data-contact-id=" in app_client.get(f"/cases/{case.id}").text

    log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    inbox = app_client.get("/referrals")
    ids = re.findall(r'data-row-id="(\d+)" data-status="pushed"', inbox.text)
    assert len(ids) == 1
    referral_id = int(ids[0])
    for action, extra in (
        ("acknowledge", {}),
        ("locate", {}),
        ("control", {}),
        ("close", {"feedback": "已集中隔离"}),
    ):
        done = app_client.post(
            f"/referrals/{referral_id}/{action}",
            data={"csrf": csrf_of(app_client), **extra},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text

    app_client.cookies.clear()
    for name, value in sender_cookies.items():
        app_client.cookies.set(name, value)
    outbox = app_client.get("/referrals?box=outbox")
    row = re.search(rf'<tr data-row-id="{referral_id}"[^>]*>', outbox.text)
    assert row is not None and 'data-unread="1"' in row.group(0)
    assert 'id="unread-answers"' in outbox.text
    assert "已集中隔离" in outbox.text
    app_client.get(f"/referrals/{referral_id}")
    again = app_client.get("/referrals?box=outbox")
    row = re.search(rf'<tr data-row-id="{referral_id}"[^>]*>', again.text)
    assert row is not None and "data-unread" not in row.group(0)
    assert 'id="unread-answers"' not in again.text


def test_an_approval_posted_twice_with_one_form_key_acts_once(
    app_client: TestClient, session: Session
) -> None:
    proposed = area(session, building(session, "500106", 1), status="proposed")
    log_in(app_client, session, role=Role.command)
    page = app_client.get(f"/zones/{proposed.id}")
    form = re.search(
        r'<form method="post" action="/zones/\d+/approve" data-confirm="([^"]+)"', page.text
    )
    assert form is not None and form.group(1)
    key = re.search(
        r'action="/zones/\d+/approve".*?name="form_key" value="([^"]+)"', page.text, re.S
    )
    assert key is not None
    data = {"csrf": csrf_of(app_client), "form_key": key.group(1), "next": f"/zones/{proposed.id}"}
    first = app_client.post(f"/zones/{proposed.id}/approve", data=data, follow_redirects=False)
    second = app_client.post(f"/zones/{proposed.id}/approve", data=data, follow_redirects=False)
    assert (first.status_code, second.status_code) == (303, 303)
    steps = [e.step for e in zones_service.area_events(session, area_id=proposed.id)]
    assert steps.count("approved") == 1
    history = app_client.get(f"/zones/{proposed.id}")
    assert history.text.count('data-step="approved"') == 1


def test_an_export_reads_back_with_the_chinese_intact_and_no_formula(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    place = building(session, "500106", 3)
    resident(session, protector, place)
    area(session, place, status="active", reason="=1+1 社会面病例")
    log_in(app_client, session, role=Role.command)
    exported = app_client.get("/zones.csv?district=500106&status=all")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    mine = [r for r in rows if r["building"] == place.code]
    assert mine[0]["reason"] == "'=1+1 社会面病例"
    assert mine[0]["address"] == place.address_label
    frame = pd.read_csv(io.BytesIO(exported.content), encoding="utf-8-sig")
    assert "'=1+1 社会面病例" in set(frame["reason"])
    assert not any(str(v).startswith("=") for v in frame.to_numpy().ravel())
