"""The backtested forecast through the API and the command line: the same service as the pages,
on official counts (the whole-day figures, as the backtest reads them)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.analytics import import_official, municipal_series_rows, official_csv
from tests.factories.clock import TZ
from tests.factories.web import log_in
from xietong.analytics.expected import expected_infections
from xietong.cli.main import build
from xietong.core.principal import Role

DAY = "2022-11-13"


def test_the_api_answers_the_forecast_the_pages_show(
    app_client: TestClient, session: Session
) -> None:
    import_official(session, municipal_series_rows())
    log_in(app_client, session, role=Role.command)

    body = app_client.get(f"/api/analytics/expected?last_day={DAY}").json()

    assert body["parameters"]["series"] == "official"
    assert body["parameters"]["method"] == "growth_recalibrated"
    assert len(body["days"]) == 14 and body["days"][0] == "2022-11-14"
    served = expected_infections(session, last_day=date.fromisoformat(DAY), tz=TZ)
    assert body == json.loads(served.model_dump_json())


def test_the_command_line_prints_the_citys_bands(cli: CliRunner, tmp_path: Path) -> None:
    counts = tmp_path / "november.csv"
    counts.write_text(official_csv(municipal_series_rows()), encoding="utf-8")
    assert cli.invoke(build(), ["analytics", "import-official", str(counts)]).exit_code == 0

    table = cli.invoke(
        build(), ["analytics", "expected", "--last-day", DAY], env={"COLUMNS": "200"}
    )
    as_json = cli.invoke(build(), ["analytics", "expected", "--last-day", DAY, "--json"])

    assert table.exit_code == 0, table.output
    words = " ".join(table.output.split())  # the title wraps over the table's width
    assert "(backtested forecast, series: official)" in words and "2022-11-27" in words
    assert json.loads(as_json.output)["parameters"]["series"] == "official"
