"""A fresh database of each backend for command-line tests, through XIETONG_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli import context
from xietong.cli.main import build


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
    """A runner on a migrated database with the reference districts."""
    monkeypatch.setenv("XIETONG_DATABASE_URL", fresh_url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    runner = CliRunner()
    upgraded = runner.invoke(build(), ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    yield runner
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()
