"""`xietong policy` on the test's transaction: check lists every problem with its line, adopt
keeps the history, show answers for a past day or a version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.zones import policy_toml
from xietong.cli import context
from xietong.cli.main import build
from xietong.config import Settings


@pytest.fixture
def cli(session: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Commands run their unit of work as a savepoint of the test's transaction."""

    @contextmanager
    def work() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    monkeypatch.setattr(context, "work", work)
    return CliRunner()


def test_check_lists_every_problem_with_its_line(cli: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    text = policy_toml(
        version="bad",
        effective_from=date(2022, 12, 1),
        changes={"screening.pool_size": 30, "quarantine.home_isolation_days": -1},
    )
    bad.write_text(text, encoding="utf-8")
    line = text.splitlines().index("home_isolation_days = -1") + 1
    result = cli.invoke(build(), ["policy", "check", str(bad)], env={"COLUMNS": "300"})
    assert result.exit_code == 2
    assert "2 problems" in result.output
    assert (
        "screening.pool_size" in result.output and "quarantine.home_isolation_days" in result.output
    )
    assert f"{bad}:{line} quarantine.home_isolation_days" in result.output


def test_adopt_then_history_and_show_on_a_past_day(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "wind-down.toml"
    good.write_text(
        policy_toml(
            version="wind-down",
            effective_from=date(2022, 11, 21),
            changes={"screening.mode": "wind_down"},
        ),
        encoding="utf-8",
    )
    adopted = cli.invoke(build(), ["policy", "adopt", str(good)])
    assert adopted.exit_code == 0, adopted.output
    assert "adopted wind-down from 2022-11-21" in adopted.output
    again = cli.invoke(build(), ["policy", "adopt", str(good)])
    assert again.exit_code == 2 and "policy_conflict" in again.output
    history = cli.invoke(build(), ["policy", "history"], env={"COLUMNS": "200"})
    assert "2022-11-11" in history.output and "packaged default" in history.output
    assert "wind-down" in history.output and "by system" in history.output
    before = cli.invoke(build(), ["policy", "show", "--day", "2022-11-20"])
    assert '"mode": "by_area_status"' in before.output
    after = cli.invoke(build(), ["policy", "show", "--day", "2022-11-22"])
    assert '"mode": "wind_down"' in after.output
    version = cli.invoke(build(), ["policy", "show", "--version", "2022-11-11"])
    assert version.exit_code == 0 and '"version": "2022-11-11"' in version.output
    missing = cli.invoke(build(), ["policy", "show", "--version", "nope"])
    assert missing.exit_code == 2 and "policy_not_found" in missing.output


def test_adopt_without_a_file_adopts_the_deployments_policy_file_once(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "city.toml"
    path.write_text(
        policy_toml(version="city", effective_from=date(2022, 12, 1), changes={}), encoding="utf-8"
    )
    monkeypatch.setattr(context, "settings", lambda: Settings(policy_file=path))
    first = cli.invoke(build(), ["policy", "adopt"])
    assert first.exit_code == 0 and "adopted city from 2022-12-01" in first.output
    again = cli.invoke(build(), ["policy", "adopt"])
    assert again.exit_code == 0 and "already adopted" in again.output
    monkeypatch.setattr(context, "settings", lambda: Settings())
    missing = cli.invoke(build(), ["policy", "adopt"])
    assert missing.exit_code == 2 and "XIETONG_POLICY_FILE" in missing.output
