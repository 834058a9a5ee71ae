"""The command line on a fresh database of each backend: migrate, list areas, users, import."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli import context
from xietong.cli.main import build
from xietong.people.synthetic import synthetic_national_id


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.sqlite'}"
        return
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    yield url
    context.engine().dispose()
    _drop_postgresql_database(PG_URL, name)


@pytest.fixture
def cli(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("XIETONG_DATABASE_URL", fresh_url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def test_db_upgrade_then_areas_lists_41_units_with_populations(cli: CliRunner) -> None:
    upgraded = cli.invoke(build(), ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    listed = cli.invoke(build(), ["areas"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "41 reporting units" in listed.output
    assert "沙坪坝区" in listed.output and "1,477,345" in listed.output
    assert "两江新区" in listed.output


def test_users_create_prints_a_token_once(cli: CliRunner) -> None:
    cli.invoke(build(), ["db", "upgrade"])
    result = cli.invoke(build(), ["users", "create", "chief", "--role", "command"])
    assert result.exit_code == 0, result.output
    assert "xt_" in result.output
    again = cli.invoke(build(), ["users", "create", "chief"])
    assert again.exit_code == 2 and "user_exists" in again.output


def test_people_import_refuses_a_bad_file_then_loads_a_good_one(
    cli: CliRunner, tmp_path: Path
) -> None:
    from datetime import date

    cli.invoke(build(), ["db", "upgrade"])
    cli.invoke(build(), ["areas", "generate", "--buildings", "2"])
    good = synthetic_national_id(serial=1, birth=date(1990, 1, 1))
    bad_file = tmp_path / "bad.csv"
    bad_file.write_text(
        "national_id,name,phone,residence_building,current_building\n"
        f"{good},甲,,500106-S001-C01-B0001,\n"
        "500103199001011239,乙,,500106-S001-C01-B0001,\n",
        encoding="utf-8",
    )
    refused = cli.invoke(build(), ["people", "import", str(bad_file)])
    assert refused.exit_code == 2
    assert "line 3: national_id" in refused.output
    good_file = tmp_path / "good.csv"
    good_file.write_text(
        bad_file.read_text(encoding="utf-8").splitlines()[0]
        + "\n"
        + bad_file.read_text(encoding="utf-8").splitlines()[1]
        + "\n",
        encoding="utf-8",
    )
    loaded = cli.invoke(build(), ["people", "import", str(good_file)])
    assert loaded.exit_code == 0, loaded.output
    assert '"inserted": 1' in loaded.output


def test_serve_needs_no_argument_to_start(cli: CliRunner) -> None:
    result = cli.invoke(build(), ["serve", "--help"])
    assert result.exit_code == 0
    assert os.environ["XIETONG_DATABASE_URL"]


def test_people_retention_pseudonymises_a_person_nothing_named_for_the_period(
    cli: CliRunner, tmp_path: Path
) -> None:
    from datetime import UTC, date, datetime, timedelta

    from sqlalchemy import update

    from xietong.people.models import Person

    cli.invoke(build(), ["db", "upgrade"])
    cli.invoke(build(), ["areas", "generate", "--buildings", "2"])
    persons = tmp_path / "persons.csv"
    persons.write_text(
        "national_id,name,phone,residence_building,current_building\n"
        f"{synthetic_national_id(serial=2, birth=date(1990, 1, 1))},丙,,500106-S001-C01-B0001,\n",
        encoding="utf-8",
    )
    assert cli.invoke(build(), ["people", "import", str(persons)]).exit_code == 0
    kept = cli.invoke(build(), ["people", "retention"])
    assert kept.exit_code == 0, kept.output
    assert '"pseudonymised": 0' in kept.output
    with context.engine().begin() as connection:
        connection.execute(
            update(Person).values(updated_at=datetime.now(UTC) - timedelta(days=400))
        )
    done = cli.invoke(build(), ["people", "retention"])
    assert done.exit_code == 0, done.output
    assert '"pseudonymised": 1' in done.output
