"""Logging in to the dashboard: the same users, tokens and scoping as the API, in a cookie."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import make_user
from tests.factories.people import make_person
from tests.factories.web import PASSWORD, csrf_of, log_in
from xietong.api.deps import SESSION_COOKIE
from xietong.auth.models import AuditEntry
from xietong.core.principal import Role
from xietong.people.protection import PersonalDataProtector


def test_the_login_page_is_in_simplified_chinese_by_default(app_client: TestClient) -> None:
    page = app_client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "用户名" in page.text


def test_lang_en_switches_to_english_and_the_choice_is_remembered(app_client: TestClient) -> None:
    assert "User name" in app_client.get("/login?lang=en").text
    assert "User name" in app_client.get("/login").text
    assert "用户名" in app_client.get("/login?lang=zh").text


def test_a_wrong_password_is_refused_without_a_session(
    app_client: TestClient, session: Session
) -> None:
    principal, _ = make_user(session, role=Role.command, password=PASSWORD)
    response = app_client.post(
        "/login", data={"username": principal.username, "password": "wrong password"}
    )
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert SESSION_COOKIE not in app_client.cookies


def test_a_district_coordinator_lands_on_the_referral_inbox(
    app_client: TestClient, session: Session
) -> None:
    principal, _ = make_user(
        session, role=Role.district_coordinator, district_code="500106", password=PASSWORD
    )
    response = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/referrals"


def test_the_session_cookie_is_an_api_token_the_api_accepts(
    app_client: TestClient, session: Session
) -> None:
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    me = app_client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["username"] == principal.username
    assert me.json()["district_code"] == "500108"


def test_the_session_cookie_cannot_be_read_by_scripts(
    app_client: TestClient, session: Session
) -> None:
    principal, _ = make_user(session, role=Role.command, password=PASSWORD)
    response = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_logout_revokes_the_session_token(app_client: TestClient, session: Session) -> None:
    log_in(app_client, session)
    token = app_client.cookies[SESSION_COOKIE]
    response = app_client.post(
        "/logout", data={"csrf": csrf_of(app_client)}, follow_redirects=False
    )
    assert response.status_code == 303
    stale = app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert stale.status_code == 401


def test_logout_without_the_forms_token_is_refused(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session)
    assert app_client.post("/logout", data={"csrf": "forged"}).status_code == 403
    assert app_client.get("/api/auth/me").status_code == 200


def test_a_page_without_a_session_sends_the_visitor_to_the_login(app_client: TestClient) -> None:
    response = app_client.get("/overview", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/overview"


def test_after_login_the_visitor_returns_to_the_page_asked_for(
    app_client: TestClient, session: Session
) -> None:
    principal, _ = make_user(session, role=Role.command, password=PASSWORD)
    response = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD, "next": "/zones"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/zones"


def test_the_return_address_is_never_another_site(app_client: TestClient, session: Session) -> None:
    principal, _ = make_user(session, role=Role.command, password=PASSWORD)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = app_client.post(
            "/login",
            data={"username": principal.username, "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == "/overview"


def test_a_district_user_opens_a_person_of_the_district(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106", name="赵六")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    page = app_client.get(f"/persons/{person.id}")
    assert page.status_code == 200
    assert "赵六" in page.text
    assert person.id_masked in page.text


def test_a_district_user_cannot_open_another_districts_person_page(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106", name="赵六")
    log_in(app_client, session, role=Role.district_coordinator, district_code="500108")
    page = app_client.get(f"/persons/{person.id}")
    assert page.status_code == 404
    assert "赵六" not in page.text
    assert person.id_masked not in page.text
    assert "未找到" in page.text
    missing = app_client.get("/persons/999999999")
    assert missing.status_code == 404
    # The same page whether the person exists elsewhere or not at all.
    assert missing.text.replace("999999999", str(person.id)).count("未找到") == page.text.count(
        "未找到"
    )


def test_opening_a_person_page_is_audited(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106")
    principal = log_in(app_client, session, role=Role.command)
    app_client.get(f"/persons/{person.id}")
    rows = session.scalar(
        select(func.count(AuditEntry.id)).where(
            AuditEntry.entity == "person",
            AuditEntry.entity_id == str(person.id),
            AuditEntry.action == "read",
            AuditEntry.username == principal.username,
        )
    )
    # The page reads the person twice, each read audited: the record, and its risk status.
    assert rows == 2


def test_a_role_without_the_right_to_read_persons_cannot_open_a_person(
    app_client: TestClient, session: Session, protector: PersonalDataProtector
) -> None:
    person = make_person(session, protector, district_code="500106", name="赵六")
    log_in(app_client, session, role=Role.lab)
    page = app_client.get(f"/persons/{person.id}")
    assert page.status_code == 403
    assert "赵六" not in page.text
