"""The policy through the database and the API: the active policy and its version, a changed
policy applying from its stated date with the history kept, any past day's rules, adoption
conflicts, and validation errors as JSON naming the key and the line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories.auth import command_user, district_user
from tests.factories.zones import adopt_changes, policy_toml
from xietong.core.errors import Conflict, PermissionDenied
from xietong.core.principal import SYSTEM
from xietong.policy import service
from xietong.policy.service import PolicyInvalid


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


WIND_DOWN_DAY = date(2022, 11, 21)


def adopt_wind_down(session: Session) -> None:
    adopt_changes(
        session,
        version="2022-11-21-wind-down",
        effective_from=WIND_DOWN_DAY,
        changes={"screening.mode": "wind_down"},
    )


# --- the service on the database ---------------------------------------------------------------


def test_until_a_city_adopts_a_file_the_default_is_in_force(session: Session) -> None:
    assert service.policy_in_force(session, day=date(2022, 11, 14)).version == "2022-11-11"
    # Before the first policy, the earliest one applies.
    assert service.policy_in_force(session, day=date(2022, 1, 1)).version == "2022-11-11"


def test_a_changed_policy_applies_from_its_date_and_earlier_days_keep_their_rules(
    session: Session,
) -> None:
    adopt_wind_down(session)
    assert (
        service.policy_in_force(session, day=date(2022, 11, 20)).screening.mode == "by_area_status"
    )
    assert service.policy_in_force(session, day=WIND_DOWN_DAY).screening.mode == "wind_down"
    assert service.policy_in_force(session, day=date(2023, 1, 8)).version == "2022-11-21-wind-down"
    versions = [(v.effective_from, v.version) for v in service.history(session).as_of_versions()]
    assert versions == [(date(2022, 11, 11), "2022-11-11"), (WIND_DOWN_DAY, "2022-11-21-wind-down")]


def test_the_stated_date_may_differ_from_the_date_in_the_file(session: Session) -> None:
    text = policy_toml(version="later", effective_from=date(2022, 11, 25), changes={})
    row = service.adopt_policy(
        session,
        principal=SYSTEM,
        text=text,
        source="t",
        effective_from=date(2022, 12, 1),
        now=datetime.now(UTC),
    )
    assert row.effective_from == date(2022, 12, 1)
    assert service.policy_in_force(session, day=date(2022, 11, 30)).version == "2022-11-11"
    assert service.policy_in_force(session, day=date(2022, 12, 1)).version == "later"


def test_two_policies_on_one_day_or_one_version_twice_conflict(session: Session) -> None:
    adopt_wind_down(session)
    same_day = policy_toml(version="other", effective_from=WIND_DOWN_DAY, changes={})
    with pytest.raises(Conflict, match="already takes effect on 2022-11-21"):
        service.adopt_policy(
            session, principal=SYSTEM, text=same_day, source="t", now=datetime.now(UTC)
        )
    same_version = policy_toml(
        version="2022-11-21-wind-down", effective_from=date(2022, 12, 5), changes={}
    )
    with pytest.raises(Conflict, match="already in the history"):
        service.adopt_policy(
            session, principal=SYSTEM, text=same_version, source="t", now=datetime.now(UTC)
        )


def test_only_the_command_centre_adopts(session: Session) -> None:
    coordinator, _ = district_user(session, "500106")
    with pytest.raises(PermissionDenied):
        service.adopt_policy(
            session,
            principal=coordinator,
            text=policy_toml(version="x", effective_from=date(2022, 12, 1), changes={}),
            source="t",
            now=datetime.now(UTC),
        )


def test_an_invalid_file_is_refused_with_every_problem_and_nothing_is_kept(
    session: Session,
) -> None:
    text = policy_toml(
        version="bad",
        effective_from=date(2022, 12, 1),
        changes={"screening.pool_size": 30, "risk_area.lift_after_clean_days": "five"},
    )
    with pytest.raises(PolicyInvalid) as refused:
        service.adopt_policy(
            session, principal=SYSTEM, text=text, source="bad.toml", now=datetime.now(UTC)
        )
    keys = {p["key"] for p in refused.value.details}
    assert keys == {"screening.pool_size", "risk_area.lift_after_clean_days"}
    assert [v.version for v in service.history(session).as_of_versions()] == ["2022-11-11"]


def test_a_version_displaced_by_an_earlier_adopted_file_still_explains_its_decisions(
    session: Session,
) -> None:
    adopt_changes(session, version="city-own", effective_from=date(2022, 11, 1))
    assert service.policy_in_force(session, day=date(2022, 11, 14)).version == "city-own"
    since, packaged = service.version_in_force(session, version="2022-11-11")
    assert (since, packaged.risk_area.lift_after_clean_days) == (date(2022, 11, 11), 5)


# --- the API -------------------------------------------------------------------------------------


def test_the_api_shows_the_active_policy_and_its_version(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")
    body = app_client.get("/api/policy", headers=auth(token)).json()
    assert (body["version"], body["effective_from"]) == ("2022-11-11", "2022-11-11")
    assert body["name"].startswith("二十条")
    assert body["rules"]["risk_area"]["lift_after_clean_days"] == 5


def test_the_api_answers_with_the_policy_in_force_on_a_past_day(
    app_client: TestClient, session: Session
) -> None:
    adopt_wind_down(session)
    _, token = command_user(session)
    before = app_client.get("/api/policy", headers=auth(token), params={"day": "2022-11-20"}).json()
    after = app_client.get("/api/policy", headers=auth(token), params={"day": "2022-11-25"}).json()
    assert (before["version"], before["rules"]["screening"]["mode"]) == (
        "2022-11-11",
        "by_area_status",
    )
    assert (after["version"], after["effective_from"], after["rules"]["screening"]["mode"]) == (
        "2022-11-21-wind-down",
        "2022-11-21",
        "wind_down",
    )


def test_the_history_says_who_adopted_what_and_flags_a_retroactive_adoption(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    future = policy_toml(version="next-year", effective_from=date(2099, 1, 1), changes={})
    created = app_client.post("/api/policy", headers=auth(token), json={"text": future})
    assert created.status_code == 201
    adopt_wind_down(session)
    history = app_client.get("/api/policy/history", headers=auth(token)).json()
    assert [(h["version"], h["adopted_by"], h["retroactive"]) for h in history] == [
        ("2022-11-11", None, False),
        ("2022-11-21-wind-down", "system", True),
        ("next-year", created.json()["adopted_by"], False),
    ]
    assert datetime.fromisoformat(history[2]["adopted_at"]) <= datetime.now(UTC)


def test_one_version_can_be_read_to_explain_a_decision(
    app_client: TestClient, session: Session
) -> None:
    adopt_wind_down(session)
    _, token = command_user(session)
    body = app_client.get("/api/policy/versions/2022-11-21-wind-down", headers=auth(token)).json()
    assert (body["effective_from"], body["rules"]["screening"]["mode"]) == (
        "2022-11-21",
        "wind_down",
    )
    missing = app_client.get("/api/policy/versions/nope", headers=auth(token))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "policy_not_found"


def test_adoption_conflicts_answer_409(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    text = policy_toml(version="a", effective_from=date(2022, 12, 1), changes={})
    assert (
        app_client.post("/api/policy", headers=auth(token), json={"text": text}).status_code == 201
    )
    for conflicting in (
        policy_toml(version="b", effective_from=date(2022, 12, 1), changes={}),
        policy_toml(version="a", effective_from=date(2022, 12, 9), changes={}),
    ):
        response = app_client.post("/api/policy", headers=auth(token), json={"text": conflicting})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "policy_conflict"


def test_a_district_cannot_adopt_a_policy(app_client: TestClient, session: Session) -> None:
    _, token = district_user(session, "500106")
    text = policy_toml(version="x", effective_from=date(2022, 12, 1), changes={})
    response = app_client.post("/api/policy", headers=auth(token), json={"text": text})
    assert response.status_code == 403


def test_validation_errors_come_back_as_json_naming_the_key_and_the_line(
    app_client: TestClient, session: Session
) -> None:
    _, token = command_user(session)
    text = policy_toml(
        version="bad",
        effective_from=date(2022, 12, 1),
        changes={"risk_area.lift_after_clean_days": 0},
    ).replace("pool_size = 10", "pool_sise = 10")
    line_of = {
        key: next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(key))
        for key in ("lift_after_clean_days", "pool_sise")
    }
    for path in ("/api/policy", "/api/policy/check"):
        response = app_client.post(path, headers=auth(token), json={"text": text})
        assert response.status_code == 422, path
        error = response.json()["error"]
        assert error["code"] == "policy_invalid"
        problems = {p["key"]: p for p in error["details"]}
        assert (
            problems["risk_area.lift_after_clean_days"]["line"] == line_of["lift_after_clean_days"]
        )
        assert problems["risk_area.lift_after_clean_days"]["kind"] == "invalid_value"
        assert problems["screening.pool_sise"]["line"] == line_of["pool_sise"]
        assert problems["screening.pool_sise"]["kind"] == "unknown_key"
        assert "pool_size" in problems["screening.pool_sise"]["reason"]
    history = app_client.get("/api/policy/history", headers=auth(token)).json()
    assert [h["version"] for h in history] == ["2022-11-11"]


def test_a_file_that_is_not_toml_names_its_line(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)
    response = app_client.post(
        "/api/policy/check", headers=auth(token), json={"text": 'version = "x"\nname = \n'}
    )
    assert response.status_code == 422
    [problem] = response.json()["error"]["details"]
    assert (problem["kind"], problem["line"]) == ("syntax", 2)


def test_a_valid_file_checks_without_being_adopted(
    app_client: TestClient, session: Session
) -> None:
    _, token = district_user(session, "500106")
    text = policy_toml(version="draft", effective_from=date(2022, 12, 1), changes={})
    checked = app_client.post("/api/policy/check", headers=auth(token), json={"text": text}).json()
    assert checked == {
        "valid": True,
        "version": "draft",
        "name": checked["name"],
        "effective_from": "2022-12-01",
    }
    history = app_client.get("/api/policy/history", headers=auth(token)).json()
    assert "draft" not in [h["version"] for h in history]


def test_the_policy_needs_a_token(app_client: TestClient) -> None:
    assert app_client.get("/api/policy").status_code == 401


def test_the_deployments_policy_file_is_adopted_once(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "city.toml"
    path.write_text(
        policy_toml(version="city-2022-12", effective_from=date(2022, 12, 1), changes={}),
        encoding="utf-8",
    )
    assert service.adopt_configured_policy(session, path=path, now=datetime.now(UTC)) is not None
    assert service.adopt_configured_policy(session, path=path, now=datetime.now(UTC)) is None
    assert service.policy_in_force(session, day=date(2022, 12, 2)).version == "city-2022-12"
    path.write_text(
        policy_toml(
            version="city-2022-12",
            effective_from=date(2022, 12, 1),
            changes={"screening.pool_size": 20},
        ),
        encoding="utf-8",
    )
    with pytest.raises(Conflict, match="adopted with other rules"):
        service.adopt_configured_policy(session, path=path, now=datetime.now(UTC))
