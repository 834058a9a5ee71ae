"""The API's frame: health, OpenAPI, JSON errors, users and tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user


def test_health_answers_with_the_database_backend(app_client: TestClient, backend: str) -> None:
    body = app_client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == backend


def test_openapi_is_served_under_api(app_client: TestClient) -> None:
    spec = app_client.get("/api/openapi.json").json()
    assert "/api/people/{person_id}" in spec["paths"]


def test_an_unknown_route_is_a_json_error(app_client: TestClient) -> None:
    response = app_client.get("/api/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_bad_request_body_names_the_field(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    response = app_client.post(
        "/api/people", headers={"Authorization": f"Bearer {token}"}, json={"name": "x"}
    )
    assert response.status_code == 422
    fields = [d["field"] for d in response.json()["error"]["details"]]
    assert "body.national_id" in fields


def test_the_command_centre_creates_a_district_user_whose_token_works(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    created = app_client.post(
        "/api/auth/users",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "username": "shapingba-duty",
            "role": "district_coordinator",
            "district_code": "500106",
        },
    )
    assert created.status_code == 201
    new_token = created.json()["token"]
    me = app_client.get("/api/auth/me", headers={"Authorization": f"Bearer {new_token}"}).json()
    assert (me["role"], me["district_code"]) == ("district_coordinator", "500106")


def test_a_district_user_may_not_create_users(app_client: TestClient, session: Session) -> None:
    _, token = district_user(session, "500106")
    response = app_client.post(
        "/api/auth/users",
        headers={"Authorization": f"Bearer {token}"},
        json={"username": "x-y", "role": "command"},
    )
    assert response.status_code == 403


def test_an_unknown_token_is_refused(app_client: TestClient) -> None:
    response = app_client.get("/api/auth/me", headers={"Authorization": "Bearer xt_nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
