"""The review of possible duplicates on screen: a district coordinator finds the pairs of the
district, sees both persons side by side (an audited read), dismisses one pair and merges
another; another district's pair is not shown; a viewer cannot open the page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories.web import csrf_of, log_in
from tests.functional.people.test_duplicates_find import pairs, person
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people.models import Person
from xietong.people.protection import PersonalDataProtector


def _post(client: TestClient, path: str, **fields: str) -> object:
    return client.post(path, data={"csrf": csrf_of(client), **fields}, follow_redirects=False)


def test_a_coordinator_finds_dismisses_and_merges_on_screen(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    a = person(session, protector, name="秦一", phone="13600000001")
    b = person(session, protector, name="秦一", phone="13600000002")
    c = person(session, protector, name="尤二", phone="13600000003")
    d = person(session, protector, name="尤贰", phone="13600000003")
    person(session, protector, name="许三", district="500108")
    person(session, protector, name="许三", district="500108")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")

    found = _post(app_client, "/duplicates/find", form_key="dup-find")
    assert found.status_code == 303  # type: ignore[attr-defined]
    page = app_client.get("/duplicates")
    assert page.status_code == 200
    assert page.text.count('data-pair-id="') == 2
    assert "秦一" in page.text and "尤贰" in page.text and "许三" not in page.text
    shown = session.scalars(
        select(AuditEntry.entity_id).where(AuditEntry.reason == "duplicate review")
    ).all()
    assert {str(p.id) for p in (a, b, c, d)} <= set(shown)

    found_pairs = pairs(session)
    by_name = found_pairs[(a.id, b.id)].id
    by_phone = found_pairs[(c.id, d.id)].id
    dismissed = _post(
        app_client, f"/duplicates/{by_name}/dismiss", note="兄弟", form_key="dup-dismiss"
    )
    assert dismissed.status_code == 303  # type: ignore[attr-defined]
    merged = _post(
        app_client, f"/duplicates/{by_phone}/merge", survivor_id=str(d.id), form_key="dup-merge"
    )
    assert merged.status_code == 303  # type: ignore[attr-defined]
    session.expire_all()
    assert session.get(Person, c.id).merged_into_id == d.id  # type: ignore[union-attr]
    assert 'data-pair-id="' not in app_client.get("/duplicates").text
    done = app_client.get("/duplicates?status=dismissed")
    assert f'data-pair-id="{by_name}"' in done.text and "兄弟" in done.text


def test_a_viewer_cannot_open_the_review(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session, role=Role.viewer, district_code="500106")
    page = app_client.get("/duplicates")
    assert page.status_code == 403
