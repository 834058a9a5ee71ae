"""`xietong analytics` on a fresh database: import published counts, then read the trend, the
forecast and the scenarios from them; refresh the aggregates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.factories.analytics import municipal_series_rows, official_csv
from xietong.cli.main import build

WIDE = {"COLUMNS": "200"}


def test_published_counts_give_trend_forecast_and_scenarios(cli: CliRunner, tmp_path: Path) -> None:
    counts = tmp_path / "chongqing-1-13-nov.csv"
    counts.write_text(official_csv(municipal_series_rows()), encoding="utf-8")

    imported = cli.invoke(build(), ["analytics", "import-official", str(counts)])
    trend = cli.invoke(
        build(), ["analytics", "trend", "--last-day", "2022-11-13", "--days", "13"], env=WIDE
    )
    trend_json = cli.invoke(
        build(), ["analytics", "trend", "--last-day", "2022-11-13", "--days", "13", "--json"]
    )
    forecast = cli.invoke(
        build(),
        ["analytics", "forecast", "--last-day", "2022-11-13", "--horizon", "14", "--runs", "30"],
        env=WIDE,
    )
    compare = ["analytics", "scenarios", "--last-day", "2022-11-13", "--horizon", "14"]
    scenarios = cli.invoke(build(), [*compare, "--runs", "30"], env=WIDE)
    scenarios_json = cli.invoke(build(), [*compare, "--runs", "30", "--json"])

    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["added"] == 13 * 23
    # The tables' layout follows the terminal; their content is checked through --json.
    assert trend.exit_code == 0, trend.output
    assert "Trend on 2022-11-13 (official" in trend.output
    assert json.loads(trend_json.output)["city"]["phase"] == "rapid_growth"
    assert forecast.exit_code == 0, forecast.output
    assert "City detections from 2022-11-14" in forecast.output
    assert scenarios.exit_code == 0, scenarios.output
    assert "Infections 2022-11-14 to 2022-11-27" in scenarios.output
    names = [o["scenario"]["name"] for o in json.loads(scenarios_json.output)["scenarios"]]
    assert names[:2] == ["baseline", "screening_every_day"]


def test_a_bad_official_file_is_refused_naming_the_line(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        official_csv(
            [{"district": "火星区", "day": "2022-11-14", "new_confirmed": 1, "new_asymptomatic": 0}]
        ),
        encoding="utf-8",
    )

    result = cli.invoke(build(), ["analytics", "import-official", str(bad)])

    assert result.exit_code == 2
    assert "line 2: district: unknown district" in result.output


def test_refresh_reports_the_cells_it_recounted(cli: CliRunner) -> None:
    first = cli.invoke(build(), ["analytics", "refresh"])
    full = cli.invoke(build(), ["analytics", "refresh", "--full"])

    assert first.exit_code == 0, first.output
    assert "82 cells recounted (82 new)" in first.output
    assert full.exit_code == 0, full.output
    assert "(0 new)" in full.output


def test_trend_without_any_count_says_what_to_do(cli: CliRunner) -> None:
    result = cli.invoke(build(), ["analytics", "trend", "--last-day", "2022-11-13"])

    assert result.exit_code == 2
    assert "no_case_counts" in result.output and "import the official counts" in result.output
