"""Accounts that can be shut: tokens expire and are revoked, deactivation and password changes end
sessions, argon2id with old hashes upgraded, the password policy, cookie calls need CSRF proof,
and logins are throttled per account and per address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user, make_user
from tests.factories.web import PASSWORD, csrf_of, log_in
from xietong.auth import service, tokens
from xietong.auth.passwords import verify_password
from xietong.core.errors import NotAuthenticated, ValidationFailed
from xietong.core.principal import Role


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_expires(session: Session) -> None:
    principal, _ = command_user(session)
    user = service.require_user(session, username=principal.username)
    now = datetime(2022, 11, 14, 12, tzinfo=UTC)
    token = tokens.issue_token(session, user=user, expires_at=now + timedelta(hours=1), now=now)
    assert tokens.authenticate_token(session, token=token, now=now).user_id == user.id
    with pytest.raises(NotAuthenticated):
        tokens.authenticate_token(session, token=token, now=now + timedelta(hours=1))


def test_every_token_gets_an_expiry_by_default(session: Session) -> None:
    principal, _ = command_user(session)
    rows = tokens.list_tokens(session, user_id=principal.user_id)
    assert rows and all(t.expires_at is not None for t in rows)


def test_tokens_are_listed_issued_and_revoked_through_the_api(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")
    issued = app_client.post(
        "/api/auth/tokens", json={"name": "script", "days": 7}, headers=_bearer(token)
    )
    assert issued.status_code == 201, issued.text
    new_token, new_id = issued.json()["token"], issued.json()["detail"]["id"]
    listed = app_client.get("/api/auth/tokens", headers=_bearer(token)).json()
    assert {t["name"] for t in listed} >= {"default", "script"}
    assert all("token" not in t for t in listed)
    assert app_client.get("/api/auth/me", headers=_bearer(new_token)).status_code == 200
    revoked = app_client.delete(f"/api/auth/tokens/{new_id}", headers=_bearer(token))
    assert revoked.status_code == 204
    assert app_client.get("/api/auth/me", headers=_bearer(new_token)).status_code == 401


def test_someone_elses_token_cannot_be_revoked_and_answers_not_found(
    app_client: TestClient, session: Session
) -> None:
    _, mine = district_user(session, "500106")
    other, _ = district_user(session, "500118")
    their_id = tokens.list_tokens(session, user_id=other.user_id)[0].id
    answer = app_client.delete(f"/api/auth/tokens/{their_id}", headers=_bearer(mine))
    assert answer.status_code == 404


def test_deactivation_ends_tokens_and_dashboard_sessions(
    app_client: TestClient, session: Session
) -> None:
    _, chief = command_user(session)
    principal = log_in(app_client, session, role=Role.district_coordinator, district_code="500106")
    user = service.require_user(session, username=principal.username)
    api_token = tokens.issue_token(session, user=user, name="api")
    assert app_client.get("/api/auth/me").status_code == 200  # by the session cookie
    cookies = dict(app_client.cookies)
    app_client.cookies.clear()
    answer = app_client.post(
        f"/api/auth/users/{principal.username}/deactivate", headers=_bearer(chief)
    )
    assert answer.status_code == 200 and answer.json()["active"] is False
    assert app_client.get("/api/auth/me", headers=_bearer(api_token)).status_code == 401
    app_client.cookies.update(cookies)
    assert app_client.get("/api/auth/me").status_code == 401
    app_client.cookies.clear()
    again = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert again.status_code == 401
    listed = app_client.get(
        "/api/auth/users", params={"active": "false"}, headers=_bearer(chief)
    ).json()
    assert principal.username in {u["username"] for u in listed["items"]}


def test_only_the_command_centre_manages_users(app_client: TestClient, session: Session) -> None:
    district, token = district_user(session, "500106")
    for method, path in [
        ("GET", "/api/auth/users"),
        ("POST", f"/api/auth/users/{district.username}/deactivate"),
        ("POST", f"/api/auth/users/{district.username}/password-reset"),
    ]:
        assert app_client.request(method, path, headers=_bearer(token)).status_code == 403


def test_password_change_keeps_this_token_and_ends_the_others(
    app_client: TestClient, session: Session
) -> None:
    principal, token = make_user(
        session, role=Role.field_worker, district_code="500106", password=PASSWORD
    )
    user = service.require_user(session, username=principal.username)
    other = tokens.issue_token(session, user=user, name="laptop")
    wrong = app_client.post(
        "/api/auth/me/password",
        json={"current_password": "not it", "new_password": "a much better phrase"},
        headers=_bearer(token),
    )
    assert wrong.status_code == 401
    changed = app_client.post(
        "/api/auth/me/password",
        json={"current_password": PASSWORD, "new_password": "a much better phrase"},
        headers=_bearer(token),
    )
    assert changed.status_code == 204, changed.text
    assert app_client.get("/api/auth/me", headers=_bearer(token)).status_code == 200
    assert app_client.get("/api/auth/me", headers=_bearer(other)).status_code == 401
    assert service.authenticate_password(
        session, username=principal.username, password="a much better phrase"
    )


def test_a_reset_password_is_shown_once_and_ends_every_session(
    app_client: TestClient, session: Session
) -> None:
    _, chief = command_user(session)
    principal, token = make_user(session, role=Role.lab, password=PASSWORD)
    reset = app_client.post(
        f"/api/auth/users/{principal.username}/password-reset", headers=_bearer(chief)
    )
    assert reset.status_code == 200
    new_password = reset.json()["password"]
    assert app_client.get("/api/auth/me", headers=_bearer(token)).status_code == 401
    assert service.authenticate_password(
        session, username=principal.username, password=new_password
    )
    with pytest.raises(NotAuthenticated):
        service.authenticate_password(session, username=principal.username, password=PASSWORD)


def test_an_old_scrypt_hash_is_upgraded_to_argon2id_at_login(session: Session) -> None:
    import base64
    import hashlib

    principal, _ = make_user(session, role=Role.viewer)
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"an old password", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    user = service.require_user(session, username=principal.username)
    user.password_hash = old
    session.flush()
    service.authenticate_password(session, username=principal.username, password="an old password")
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password("an old password", user.password_hash)


def test_an_unknown_user_costs_a_hash_and_fails_like_a_wrong_password(session: Session) -> None:
    assert verify_password("anything", None) is False
    principal, _ = make_user(session, role=Role.viewer, password=PASSWORD)
    for name, password in [("nobody-here", PASSWORD), (principal.username, "wrong one")]:
        with pytest.raises(NotAuthenticated) as refused:
            service.authenticate_password(session, username=name, password=password)
        assert refused.value.code == "invalid_credentials"


def test_production_refuses_weak_passwords(session: Session) -> None:
    from xietong.auth.schemas import UserCreate

    for weak in ["short-pw", "xietong-demo", "aaaaaaaaaaaaaaaa"]:
        with pytest.raises(ValidationFailed) as refused:
            service.create_user(
                session,
                user_in=UserCreate(username="prod-user", role=Role.viewer, password=weak),
                district_id=None,
                now=datetime(2022, 11, 14, 12, tzinfo=UTC),
                production=True,
            )
        assert refused.value.errors[0].field == "password"


def test_a_cookie_call_that_changes_state_needs_the_csrf_token_or_our_origin(
    app_client: TestClient, session: Session
) -> None:
    log_in(app_client, session, role=Role.command)
    body = {"name": "from-a-page"}
    foreign = app_client.post(
        "/api/auth/tokens", json=body, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "csrf"
    assert app_client.post("/api/auth/tokens", json=body).status_code == 403
    with_token = app_client.post(
        "/api/auth/tokens", json=body, headers={"X-CSRF-Token": csrf_of(app_client)}
    )
    assert with_token.status_code == 201
    same_origin = app_client.post(
        "/api/auth/tokens", json=body, headers={"Origin": "http://testserver"}
    )
    assert same_origin.status_code == 201
    assert app_client.get("/api/auth/tokens").status_code == 200


def _lower_login_limits(client: TestClient, *, per_account: int, per_address: int) -> int:
    """Smaller limits than the defaults, so that a test hashes a few passwords, not a hundred."""
    state = client.app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(
        update={
            "login_failures_per_account": per_account,
            "login_failures_per_address": per_address,
        }
    )
    return min(per_account, per_address)


def test_logins_are_throttled_per_account_known_or_not(
    app_client: TestClient, session: Session
) -> None:
    principal, _ = make_user(session, role=Role.viewer, password=PASSWORD)
    limit = _lower_login_limits(app_client, per_account=3, per_address=100)
    for name in [principal.username, "no-such-user"]:
        statuses = [
            app_client.post(
                "/login", data={"username": name, "password": "guess"}, follow_redirects=False
            ).status_code
            for _ in range(limit + 1)
        ]
        assert statuses == [401] * limit + [429]
    # Past the limit even the right password is refused until the window has passed.
    right = app_client.post(
        "/login",
        data={"username": principal.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert right.status_code == 429


def test_logins_are_throttled_per_address(app_client: TestClient) -> None:
    limit = _lower_login_limits(app_client, per_account=100, per_address=4)
    answers = [
        app_client.post(
            "/login", data={"username": f"guess-{i}", "password": "x"}, follow_redirects=False
        ).status_code
        for i in range(limit + 1)
    ]
    assert answers[-1] == 429 and set(answers[:-1]) == {401}
