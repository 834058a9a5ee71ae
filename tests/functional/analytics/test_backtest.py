"""Backtests through the API and the command line: on this deployment's daily series and on the
published Shanghai series shipped with the package, with bad ranges refused naming the field."""

from __future__ import annotations

import math
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.analytics import import_official, split_by_reference_shares
from tests.factories.auth import command_user
from xietong.cli.main import build

WIDE = {"COLUMNS": "200"}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _wave_rows(first: date, days: int) -> list[dict[str, object]]:
    """A wave over the reference districts: rising 15 % a day for 25 days, then falling."""
    rows: list[dict[str, object]] = []
    for k in range(days):
        total = round(50 * math.exp(0.15 * min(k, 25) - 0.08 * max(k - 25, 0)))
        for code, count in split_by_reference_shares(total).items():
            rows.append(
                {
                    "district": code,
                    "day": (first + timedelta(days=k)).isoformat(),
                    "new_confirmed": count // 3,
                    "new_asymptomatic": count - count // 3,
                }
            )
    return rows


def test_the_api_backtests_the_daily_series_per_district(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, _wave_rows(date(2022, 10, 1), 45))
    _, token = command_user(session)

    answer = app_client.get(
        "/api/analytics/backtest",
        params={"first_day": "2022-10-10", "last_day": "2022-10-25", "runs": 50},
        headers=auth(token),
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["series"] == "districts (official)"
    assert len(body["quantile_levels"]) == 23
    rows = body["rows"]
    assert [(r["unit"], r["horizon_days"]) for r in rows[:2]] == [("all", 7), ("all", 14)]
    assert {r["unit"] for r in rows[2:]} >= {"500106", "500231"}
    for row in rows:
        assert row["forecasts"] >= 16
        assert 0.0 <= row["coverage_50"] <= row["coverage_90"] <= 1.0


def test_a_range_without_its_history_or_its_outcome_is_refused_naming_the_field(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, _wave_rows(date(2022, 10, 1), 30))
    _, token = command_user(session)

    late = app_client.get(
        "/api/analytics/backtest",
        params={"first_day": "2022-04-01", "last_day": "2022-06-30", "series": "shanghai-2022"},
        headers=auth(token),
    )

    assert late.status_code == 422, late.text
    assert "last_day" in late.text and "2022-06-16" in late.text


def test_the_api_backtests_the_shanghai_series(app_client: TestClient, session: Session) -> None:
    _, token = command_user(session)

    answer = app_client.get(
        "/api/analytics/backtest",
        params={
            "first_day": "2022-04-01",
            "last_day": "2022-04-05",
            "series": "shanghai-2022",
            "runs": 50,
        },
        headers=auth(token),
    )

    assert answer.status_code == 200, answer.text
    rows = answer.json()["rows"]
    assert [(r["unit"], r["horizon_days"], r["forecasts"]) for r in rows] == [
        ("all", 7, 5),
        ("all", 14, 5),
    ]


def test_the_command_line_prints_the_scores_against_the_baseline(cli: CliRunner) -> None:
    shanghai = cli.invoke(
        build(),
        [
            "analytics",
            "backtest",
            "--series",
            "shanghai-2022-districts",
            "--first-day",
            "2022-04-01",
            "--last-day",
            "2022-04-03",
            "--runs",
            "50",
        ],
        env=WIDE,
    )
    without_days = cli.invoke(build(), ["analytics", "backtest"])

    assert shanghai.exit_code == 0, shanghai.output
    assert "rel. WIS" in shanghai.output and "浦东新区" in shanghai.output
    assert without_days.exit_code == 2
    assert "--first-day" in without_days.output
