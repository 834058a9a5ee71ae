"""`xietong demo --no-serve`: the twin built, replayed and its users printed, once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli import context
from xietong.cli.main import build
from xietong.models import metadata
from xietong.storage.engine import build_engine
from xietong.twin.users import DEMO_PASSWORD

TINY = ["--population", "1500", "--days", "2", "--seed", "3"]


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'demo.sqlite'}"
        return
    assert PG_URL is not None
    url, name = _fresh_postgresql_database(PG_URL)
    yield url
    _drop_postgresql_database(PG_URL, name)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    # The demo's own database and rejected rows go to the user data folder: a temporary one.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("XIETONG_DATABASE_URL", raising=False)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.settings.cache_clear()
    context.engine.cache_clear()


def row_counts(url: str) -> dict[str, int]:
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: connection.scalar(select(func.count()).select_from(table)) or 0
                for table in metadata().sorted_tables
            }
    finally:
        engine.dispose()


def test_demo_replays_prints_the_users_and_a_second_run_adds_nothing(
    cli: CliRunner, fresh_url: str
) -> None:
    first = cli.invoke(build(), ["demo", "--no-serve", *TINY, "--database-url", fresh_url])
    assert first.exit_code == 0, first.output
    assert DEMO_PASSWORD in first.output
    for username in ("command", "lab", "coord-500106", "field-cq-lj"):
        assert username in first.output
    assert "days replayed" in first.output
    counts = row_counts(fresh_url)
    assert counts["twin_step"] == 2 + 2 * 4 and counts["screening_tube"] > 0
    second = cli.invoke(build(), ["demo", "--no-serve", *TINY, "--database-url", fresh_url])
    assert second.exit_code == 0, second.output
    assert row_counts(fresh_url) == counts
    status = cli.invoke(build(), ["twin", "status", "--database-url", fresh_url])
    assert status.exit_code == 0, status.output
    assert "1,500" in status.output and "2022-11-02" in status.output


def test_demo_keeps_to_its_own_file_and_refuses_another_city_there(
    cli: CliRunner, tmp_path: Path
) -> None:
    done = cli.invoke(build(), ["demo", "--no-serve", *TINY])
    assert done.exit_code == 0, done.output
    files = list((tmp_path / "data").rglob("demo-*.sqlite"))
    assert [f.name for f in files] == ["demo-1500-3.sqlite"]
    url = f"sqlite:///{files[0]}"
    other = cli.invoke(
        build(),
        ["demo", "--no-serve", "--population", "2000", "--days", "1", "--database-url", url],
    )
    assert other.exit_code == 2
    assert "population 1,500" in other.output
