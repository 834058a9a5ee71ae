"""Batches of thousands of rows are parsed and validated in the thread pool, never on the event
loop that the live streams share: no route declares such a body for FastAPI to validate there,
and the routes that parse their own keep FastAPI's 422 answer and the bounds of every body."""

from __future__ import annotations

from typing import Any

from annotated_types import MaxLen
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session

from tests.factories.auth import command_user

LARGE = 1_000


def _largest_list(model: type[BaseModel]) -> int:
    largest = 0
    for field in model.model_fields.values():
        for meta in field.metadata:
            if isinstance(meta, MaxLen):
                largest = max(largest, meta.max_length)
    return largest


def test_no_route_leaves_a_large_batch_to_the_event_loop(app_client: TestClient) -> None:
    loop_bound: list[str] = []
    for route in app_client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        body: Any = route.body_field.field_info.annotation
        if isinstance(body, type) and issubclass(body, BaseModel) and _largest_list(body) >= LARGE:
            loop_bound.append(route.path)
    assert loop_bound == []


def test_a_batch_parsed_off_the_loop_is_refused_like_a_declared_body(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    bad = {"results": [{"tube_code": "T1", "result": "maybe", "lab": "L", "reported_at": "x"}]}
    answer = app_client.post("/api/screening/results", json=bad, headers=headers)
    assert answer.status_code == 422
    fields = {d["field"] for d in answer.json()["error"]["details"]}
    assert "body.results.0.reported_at" in fields
    broken = app_client.post(
        "/api/screening/results",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    schema = app_client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/screening/results"]["post"]["requestBody"]
    assert "results" in body["content"]["application/json"]["schema"]["properties"]


def test_a_batch_parsed_off_the_loop_keeps_the_input_bounds_of_every_body(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    headers = {"Authorization": f"Bearer {token}"}
    result = {"tube_code": "T1", "result": "negative", "lab": "L"}
    for row, field in (
        (
            {**result, "tube_code": "T\x001", "reported_at": "2022-11-15T11:00:00+08:00"},
            "tube_code",
        ),
        ({**result, "reported_at": "9999-12-31T11:00:00+08:00"}, "reported_at"),
    ):
        answer = app_client.post("/api/screening/results", json={"results": [row]}, headers=headers)
        assert answer.status_code == 422, answer.text
        fields = {d["field"] for d in answer.json()["error"]["details"]}
        assert f"body.results.0.{field}" in fields
    tube = {
        "tube_code": "T2",
        "site_code": "S1",
        "collected_at": "2022-11-15T09:00:00+08:00",
        "pool_size": 1,
        "person_ids": [2**64],
    }
    answer = app_client.post("/api/screening/tubes", json={"tubes": [tube]}, headers=headers)
    assert answer.status_code == 422, answer.text
    assert "body.tubes.0.person_ids.0" in {d["field"] for d in answer.json()["error"]["details"]}
