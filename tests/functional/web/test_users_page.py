"""The command centre's users page: a user created with a role and a jurisdiction chosen (no
default) and its first password shown once, a password reset, a user's sessions ended, an
account deactivated and let in again; each confirmed, acting once for a double submit, and
audited; other roles get the forbidden page and no link to it."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories.auth import make_user
from tests.factories.web import PASSWORD, csrf_of, log_in
from xietong.auth import service as auth_service
from xietong.auth.models import AuditEntry, User
from xietong.core.principal import Role


def audited(session: Session, username: str, action: str) -> int:
    return int(
        session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.entity == "user",
                AuditEntry.entity_id == username,
                AuditEntry.action == action,
            )
        )
        or 0
    )


def form_key(html: str, action: str) -> str:
    found = re.search(
        rf'action="{re.escape(action)}"[^>]*>.*?name="form_key" value="([^"]+)"', html, re.S
    )
    assert found is not None, action
    return found.group(1)


def can_log_in(client: TestClient, username: str, password: str) -> bool:
    client.cookies.clear()
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    return response.status_code == 303


def test_only_the_command_centre_has_the_page_and_its_link(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/users")
    assert page.status_code == 200 and 'href="/users"' in page.text
    assert 'id="create-user"' in page.text and "data-confirm=" in page.text
    for role, district in ((Role.district_coordinator, "500108"), (Role.field_worker, "500108")):
        log_in(app_client, session, role=role, district_code=district)
        refused = app_client.get("/users")
        assert refused.status_code == 403
        assert 'href="/users"' not in refused.text
        posted = app_client.post(
            "/users",
            data={
                "csrf": csrf_of(app_client),
                "username": "x-1",
                "role": "viewer",
                "district": "city",
            },
        )
        assert posted.status_code == 403
    assert auth_service.get_user(session, username="x-1") is None


def test_a_user_is_created_with_its_first_password_shown_once(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/users")
    assert '<option value="" selected>选择辖区</option>' in page.text
    assert '<option value="" selected>选择角色</option>' in page.text
    data = {
        "csrf": csrf_of(app_client),
        "username": "fw-nanan-1",
        "display_name": "南岸流调一组",
        "role": "field_worker",
        "district": "500108",
        "form_key": form_key(page.text, "/users"),
    }
    created = app_client.post("/users", data=data)
    assert created.status_code == 200, created.text
    password = re.search(r'<code id="new-password"[^>]*>([^<]+)</code>', created.text)
    assert password is not None
    again = app_client.post("/users", data=data, follow_redirects=False)
    assert again.status_code == 303 and "new-password" not in again.text
    assert session.scalar(select(func.count(User.id)).where(User.username == "fw-nanan-1")) == 1
    assert audited(session, "fw-nanan-1", "create") == 1
    listed = app_client.get("/users")
    assert 'data-username="fw-nanan-1"' in listed.text and password.group(1) not in listed.text
    assert can_log_in(app_client, "fw-nanan-1", password.group(1))
    user = auth_service.get_user(session, username="fw-nanan-1")
    assert user is not None and user.role == "field_worker" and user.district_id is not None


def test_a_form_without_a_jurisdiction_or_with_a_bad_name_is_refused_in_the_readers_language(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    base = {"csrf": csrf_of(app_client), "username": "ok-name", "role": "viewer"}
    no_district = app_client.post("/users", data={**base, "district": ""})
    assert no_district.status_code == 422
    assert '<li data-field="district">请填写“辖区”</li>' in no_district.text
    bad = app_client.post(
        "/users", data={**base, "username": "a b", "district": "city", "role": ""}
    )
    assert bad.status_code == 422
    errors = re.findall(r'<li data-field="(\w+)">([^<]+)</li>', bad.text)
    assert ("username", "“用户名”格式不对") in errors
    assert ("role", "“角色”须从选项中选择") in errors
    english = app_client.post("/users?lang=en", data={**base, "username": "a", "district": "city"})
    assert "User name: at least 2 characters" in english.text
    assert "String should" not in english.text
    make_user(session, role=Role.viewer)
    taken = auth_service.list_users(session, limit=1)[0][0].username
    clash = app_client.post("/users?lang=zh", data={**base, "username": taken, "district": "city"})
    assert clash.status_code == 409 and f"用户名 {taken} 已存在" in clash.text


def test_a_password_reset_is_shown_once_and_ends_the_old_password(
    app_client: TestClient, session: Session
) -> None:
    user, _ = make_user(
        session, role=Role.district_coordinator, district_code="500108", password=PASSWORD
    )
    log_in(app_client, session, role=Role.command)
    page = app_client.get("/users?limit=100")
    action = f"/users/{user.username}/password-reset"
    assert re.search(rf'action="{action}" data-confirm="[^"]+"', page.text)
    data = {"csrf": csrf_of(app_client), "form_key": form_key(page.text, action)}
    reset = app_client.post(action, data=data)
    again = app_client.post(action, data=data, follow_redirects=False)
    assert reset.status_code == 200 and again.status_code == 303
    fresh = re.search(r'<code id="new-password"[^>]*>([^<]+)</code>', reset.text)
    assert fresh is not None
    assert audited(session, user.username, "reset_password") == 1
    assert not can_log_in(app_client, user.username, PASSWORD)
    assert can_log_in(app_client, user.username, fresh.group(1))


def test_ending_a_users_sessions_and_deactivating_it(
    app_client: TestClient, session: Session
) -> None:
    user, token = make_user(
        session, role=Role.field_worker, district_code="500108", password=PASSWORD
    )
    log_in(app_client, session, role=Role.command)
    csrf = csrf_of(app_client)
    ended = app_client.post(
        f"/users/{user.username}/revoke-tokens", data={"csrf": csrf}, follow_redirects=False
    )
    assert ended.status_code == 303 and ended.headers["location"] == "/users"
    assert (
        app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert audited(session, user.username, "revoke_tokens") == 1
    off = app_client.post(
        f"/users/{user.username}/deactivate",
        data={"csrf": csrf, "form_key": "off-1"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    listed = app_client.get("/users?active=inactive")
    assert f'data-username="{user.username}" data-active="0"' in listed.text
    assert audited(session, user.username, "deactivate") == 1
    on = app_client.post(
        f"/users/{user.username}/reactivate", data={"csrf": csrf}, follow_redirects=False
    )
    assert on.status_code == 303
    assert can_log_in(app_client, user.username, PASSWORD)


def test_the_api_ends_a_users_tokens_as_the_page_does(
    app_client: TestClient, session: Session
) -> None:
    user, token = make_user(session, role=Role.viewer)
    _, command = make_user(session, role=Role.command)
    _, other = make_user(session, role=Role.district_coordinator, district_code="500108")
    refused = app_client.post(
        f"/api/auth/users/{user.username}/revoke-tokens",
        headers={"Authorization": f"Bearer {other}"},
    )
    assert refused.status_code == 403
    done = app_client.post(
        f"/api/auth/users/{user.username}/revoke-tokens",
        headers={"Authorization": f"Bearer {command}"},
    )
    assert done.status_code == 200 and done.json()["revoked"] == 1
    assert (
        app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
