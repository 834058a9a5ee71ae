"""Bounded input: integers past 64 bits, dates outside a sane window (only on date-typed fields)
and NUL characters are refused with 422 naming the field on both backends; bodies past their
limit are refused with 413 before they are read; every answer says `no-store`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user

HUGE = str(2**64)


def _headers(session: Session) -> dict[str, str]:
    _, token = command_user(session)
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/cases/{HUGE}", "case_id"),
        (f"/api/cases/quarantine-orders/{HUGE}", "order_id"),
        (f"/api/cases?offset={HUGE}", "offset"),
        ("/api/cases?offset=-1", "offset"),
        (f"/api/auth/audit?limit={HUGE}", "limit"),
        (f"/api/stream?after={HUGE}", "after"),
    ],
)
def test_integers_past_64_bits_and_negative_paging_answer_422(
    app_client: TestClient, session: Session, path: str, field: str
) -> None:
    answer = app_client.get(path, headers=_headers(session))
    assert answer.status_code == 422, answer.text
    assert any(field in d["field"] for d in answer.json()["error"]["details"])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31"])
def test_dates_outside_the_window_answer_422_even_on_the_public_list(
    app_client: TestClient, day: str
) -> None:
    answer = app_client.get("/api/public/zones", params={"day": day})
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "query.day"


def test_a_date_inside_the_window_passes(app_client: TestClient) -> None:
    assert app_client.get("/api/public/zones", params={"day": "2022-11-14"}).status_code == 200


def test_free_text_that_looks_like_a_far_date_or_a_huge_number_is_not_refused(
    app_client: TestClient, session: Session
) -> None:
    answer = app_client.post(
        "/api/outbox/endpoints",
        json={"url": "https://93.184.216.34/hook", "description": f"9999-12-31 {HUGE}"},
        headers=_headers(session),
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/cases", {"params": {"district": "50\x000106"}}),
        ("GET", "/api/auth/audit", {"params": {"entity": "person\x00"}}),
        (
            "POST",
            "/api/outbox/endpoints",
            {"json": {"url": "https://93.184.216.34/", "description": "a\x00b"}},
        ),
        ("POST", "/api/auth/tokens", {"json": {"name": "x\x00"}}),
    ],
)
def test_nul_characters_answer_422(
    app_client: TestClient, session: Session, method: str, path: str, kwargs: dict[str, object]
) -> None:
    answer = app_client.request(method, path, headers=_headers(session), **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == 422, answer.text
    assert "NUL" in answer.json()["error"]["details"][0]["reason"]


def test_a_json_integer_past_64_bits_answers_422(app_client: TestClient, session: Session) -> None:
    answer = app_client.post(
        "/api/auth/tokens", json={"name": "x", "days": 2**70}, headers=_headers(session)
    )
    assert answer.status_code == 422


def _small_limits(client: TestClient, *, json_bytes: int, file_bytes: int) -> None:
    from xietong.api.limits import BodyLimit

    # The middleware stack is built on the first request; find the limit and lower it.
    app = client.app.middleware_stack  # type: ignore[attr-defined]
    while app is not None and not isinstance(app, BodyLimit):
        app = getattr(app, "app", None)
    assert isinstance(app, BodyLimit)
    app.json_bytes, app.file_bytes = json_bytes, file_bytes


def test_a_body_past_its_declared_limit_answers_413_unread(
    app_client: TestClient, session: Session
) -> None:
    headers = _headers(session)
    app_client.get("/health")
    _small_limits(app_client, json_bytes=2048, file_bytes=8192)
    big_json = app_client.post(
        "/api/auth/tokens",
        content=b'{"name": "' + b"x" * 4000 + b'"}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert big_json.status_code == 413
    assert big_json.json()["error"]["code"] == "body_too_large"
    # The file limit is the larger one: 4,000 bytes of CSV pass the limit (and fail as CSV).
    small_file = app_client.post(
        "/api/screening/results/import",
        files={"file": ("r.csv", b"tube_code,result\n" + b"x" * 4000, "text/csv")},
        headers=headers,
    )
    assert small_file.status_code != 413
    big_file = app_client.post(
        "/api/screening/results/import",
        files={"file": ("r.csv", b"tube_code,result\n" + b"x" * 9000, "text/csv")},
        headers=headers,
    )
    assert big_file.status_code == 413


def test_a_streamed_body_without_length_is_cut_at_the_limit(
    app_client: TestClient, session: Session
) -> None:
    headers = _headers(session)
    app_client.get("/health")
    _small_limits(app_client, json_bytes=2048, file_bytes=8192)

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(100):
            yield b"y" * 100
        yield b'"}'

    answer = app_client.post(
        "/api/auth/tokens",
        content=chunks(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 413


def test_answers_are_not_cached_and_hsts_is_sent_over_tls(
    app_client: TestClient, session: Session
) -> None:
    answer = app_client.get("/api/auth/me", headers=_headers(session))
    assert answer.headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in answer.headers
    tls = TestClient(app_client.app, base_url="https://testserver")
    assert "max-age" in tls.get("/health").headers["strict-transport-security"]


def test_the_api_docs_come_from_the_installed_package(app_client: TestClient) -> None:
    page = app_client.get("/api/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower() and "/api/docs/assets/swagger-ui-bundle.js" in page.text
    script = app_client.get("/api/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.content) > 100_000
    assert app_client.get("/api/docs/assets/..%2Fpyproject.toml").status_code == 404


def test_in_production_the_docs_and_the_schema_need_a_login(
    app_client: TestClient, session: Session
) -> None:
    from xietong.api.app import create_app

    settings = app_client.app.state.settings.model_copy(  # type: ignore[attr-defined]
        update={"environment": "production"}
    )
    production = TestClient(create_app(settings, engine=app_client.app.state.engine))  # type: ignore[attr-defined]
    production.app.dependency_overrides = app_client.app.dependency_overrides  # type: ignore[attr-defined]
    assert production.get("/api/docs").status_code == 401
    assert production.get("/api/openapi.json").status_code == 401
    assert production.get("/api/openapi.json", headers=_headers(session)).status_code == 200


@pytest.mark.parametrize("value", ["³", "٣", "+-5"])
def test_what_only_looks_like_a_number_answers_422_not_a_server_error(
    app_client: TestClient, session: Session, value: str
) -> None:
    answer = app_client.get("/api/cases", params={"offset": value}, headers=_headers(session))
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    "path", [f"/api/resources/orders/{2**31}", f"/api/cases/{2**31}", f"/api/cases/{-(2**31)}"]
)
def test_an_id_past_32_bits_answers_422_on_both_backends(
    app_client: TestClient, session: Session, path: str
) -> None:
    answer = app_client.get(path, headers=_headers(session))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"][0]["reason"].startswith("no record has an id past")


def test_a_file_of_bad_rows_is_answered_with_the_first_1000_problems_and_their_count(
    app_client: TestClient, session: Session
) -> None:
    rows = "".join(f"T{n:06d},不知道,,LAB-07,2022-11-15 11:00:00\n" for n in range(1_500))
    text = "tube_code,result,ct_value,lab,reported_at\n" + rows
    answer = app_client.post(
        "/api/screening/results/import",
        files={"file": ("bad.csv", text.encode("utf-8"), "text/csv")},
        headers=_headers(session),
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert len(error["details"]) == 1_000
    assert "1,500 problem(s) (the first 1,000 listed)" in error["message"]
    assert error["details"][0]["record"] == "line 2"
