"""`xietong resources` on a fresh database of each backend: capacity from a file, capacity against
demand, a plan with transfers and shortages, its approval, and the orders it issued."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli import context
from xietong.cli.main import build

WIDE = {"COLUMNS": "200"}


@pytest.fixture(params=BACKENDS)
def cli(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'resources.sqlite'}"
    else:
        assert PG_URL is not None
        url, name = _fresh_postgresql_database(PG_URL)
    monkeypatch.setenv("XIETONG_DATABASE_URL", url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    runner = CliRunner()
    assert runner.invoke(build(), ["db", "upgrade"]).exit_code == 0
    yield runner
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()
    if name is not None:
        assert PG_URL is not None
        _drop_postgresql_database(PG_URL, name)


CAPACITY = """district_code,code,kind,name,capacity,first_day,last_day,note
500106,SPB-Q-01,centralised_quarantine,沙坪坝隔离酒店,10,,,
500107,JLP-Q-01,centralised_quarantine,九龙坡隔离酒店,100,,,
500106,SPB-LAB-01,laboratory,沙坪坝区实验室,20000,,,
"""


def test_capacity_is_imported_shown_planned_approved_and_ordered(
    cli: CliRunner, tmp_path: Path
) -> None:
    file = tmp_path / "capacity.csv"
    file.write_text(CAPACITY, encoding="utf-8")
    imported = cli.invoke(build(), ["resources", "capacity", "import", str(file)])
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["facilities_added"] == 2

    shown = cli.invoke(build(), ["resources", "capacity", "--day", "2022-11-14"], env=WIDE)
    assert shown.exit_code == 0, shown.output
    assert "500107" in shown.output and "0 / 100" in shown.output

    inputs = tmp_path / "inputs.json"
    inputs.write_text(
        json.dumps(
            {
                "new_contacts": {"500106": [60, 0]},
                "forecast_new_cases": {},
                "planned_tubes": {"500106": [25000, 1000]},
                "in_use": {},
            }
        ),
        encoding="utf-8",
    )
    demand = cli.invoke(
        build(),
        [
            "resources",
            "demand",
            "--first-day",
            "2022-11-14",
            "--days",
            "2",
            "--inputs",
            str(inputs),
        ],
        env=WIDE,
    )
    assert demand.exit_code == 0, demand.output
    assert "lab_tube" in demand.output and "5,000" in demand.output  # 25,000 against 20,000

    planned = cli.invoke(
        build(),
        [
            "resources",
            "plan",
            "--first-day",
            "2022-11-14",
            "--days",
            "2",
            "--max-km",
            "40",
            "--inputs",
            str(inputs),
        ],
        env=WIDE,
    )
    assert planned.exit_code == 0, planned.output
    assert "plan 1 (proposed)" in planned.output
    assert "centralised_quarantine_bed" in planned.output and "50" in planned.output
    assert "remaining shortages" in planned.output  # 5,000 tubes with no laboratory in reach

    approved = cli.invoke(build(), ["resources", "approve", "1", "--note", "同意"])
    assert approved.exit_code == 0, approved.output
    assert "1 transfer orders issued" in approved.output
    again = cli.invoke(build(), ["resources", "approve", "1"])
    assert again.exit_code == 2 and "plan_not_proposed" in again.output

    orders = cli.invoke(build(), ["resources", "orders", "--district", "500107"], env=WIDE)
    assert orders.exit_code == 0, orders.output
    assert "1 transfer orders" in orders.output and "issued" in orders.output


def test_a_bad_capacity_file_is_refused_with_its_lines(cli: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "bad.csv"
    file.write_text(
        "district_code,code,kind,name,capacity\n500106,X-1,hotel,某酒店,10\n", encoding="utf-8"
    )
    result = cli.invoke(build(), ["resources", "capacity", "import", str(file)])
    assert result.exit_code == 2
    assert "line 2: kind" in result.output


def test_a_plan_as_json_without_storing_it(cli: CliRunner, tmp_path: Path) -> None:
    inputs = tmp_path / "inputs.json"
    inputs.write_text(json.dumps({"recent_new_cases": {}, "planned_tubes": {}}), encoding="utf-8")
    result = cli.invoke(
        build(),
        ["resources", "plan", "--no-store", "--json", "--days", "1", "--inputs", str(inputs)],
    )
    assert result.exit_code == 0, result.output
    read = json.loads(result.output)
    assert read["id"] is None and read["transfers"] == [] and read["total_arrivals"] == 0
