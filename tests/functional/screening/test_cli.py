"""`xietong screening` on a fresh database of each backend: sites, tubes and results from files
(re-loading changes nothing), conflicts resolved, the plan issued and the coverage shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from xietong.cli import context
from xietong.cli.main import build
from xietong.core.principal import SYSTEM
from xietong.core.wallclock import SystemClock
from xietong.people import service as people_service
from xietong.people.models import Person
from xietong.people.synthetic import synthetic_national_id
from xietong.storage.engine import session_factory
from xietong.storage.unit_of_work import unit_of_work


@pytest.fixture(params=BACKENDS)
def cli(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    else:
        assert PG_URL is not None
        url, name = _fresh_postgresql_database(PG_URL)
    monkeypatch.setenv("XIETONG_DATABASE_URL", url)
    context.settings.cache_clear()
    context.engine.cache_clear()
    yield CliRunner()
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()
    if name is not None:
        assert PG_URL is not None
        _drop_postgresql_database(PG_URL, name)


def run(cli: CliRunner, *args: str) -> str:
    result = cli.invoke(build(), ["screening", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout


def prepare(cli: CliRunner, tmp_path: Path) -> list[int]:
    assert cli.invoke(build(), ["db", "upgrade"]).exit_code == 0
    assert cli.invoke(build(), ["areas", "generate", "--buildings", "2"]).exit_code == 0
    persons = tmp_path / "persons.csv"
    rows = ["national_id,name,residence_building"]
    born = datetime(1990, 5, 1, tzinfo=UTC).date()
    rows += [
        f"{synthetic_national_id(serial=i, birth=born)},居民{i},500103-S001-C01-B0001"
        for i in range(6)
    ]
    persons.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert cli.invoke(build(), ["people", "import", str(persons)]).exit_code == 0
    with unit_of_work(session_factory(context.engine()), clock=SystemClock()) as session:
        return list(
            session.scalars(
                people_service.visible_persons(SYSTEM, at=datetime.now(UTC))
                .with_only_columns(Person.id)
                .order_by(Person.id)
            )
        )


def test_files_load_once_conflicts_are_resolved_and_coverage_is_shown(
    cli: CliRunner, tmp_path: Path
) -> None:
    ids = prepare(cli, tmp_path)
    sites = tmp_path / "sites.csv"
    sites.write_text("site_code,name,district_code\nYZ-01,渝中采样点,500103\n", encoding="utf-8")
    assert "1 sites added" in run(cli, "sites", str(sites))
    assert "0 sites added" in run(cli, "sites", str(sites))
    tubes = tmp_path / "tubes.csv"
    lines = ["tube_code,site_code,collected_at,pool_size,person_id"]
    lines += [f"C{i // 3},YZ-01,2022-11-15 08:00:00,3,{pid}" for i, pid in enumerate(ids)]
    tubes.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = json.loads(run(cli, "tubes", str(tubes)))
    again = json.loads(run(cli, "tubes", str(tubes)))
    assert (first["tubes_added"], first["members_added"]) == (2, 6)
    assert (again["tubes_added"], again["members_already_present"]) == (0, 6)
    results = tmp_path / "results.csv"
    results.write_text(
        "tube_code,result,ct_value,lab,reported_at\n"
        "C0,阴性,,LAB-1,2022-11-15 11:00\n"
        "C1,阳性,29,LAB-1,2022-11-15 11:00\n",
        encoding="utf-8",
    )
    loaded = json.loads(run(cli, "results", str(results)))["results"]
    assert (loaded["applied"], loaded["holds"], loaded["retests"]) == (2, 3, 3)
    assert json.loads(run(cli, "results", str(results)))["results"]["unchanged"] == 2
    results.write_text(
        "tube_code,result,ct_value,lab,reported_at\nC0,positive,33,LAB-2,2022-11-15 12:00\n",
        encoding="utf-8",
    )
    assert json.loads(run(cli, "results", str(results)))["results"]["conflicts"] == 1
    listed = run(cli, "conflicts")
    assert "1 conflicts (open)" in listed and "C0" in listed
    resolved = json.loads(run(cli, "resolve", "1", "--keep", "current", "--note", "复核仍为阴性"))
    assert resolved["conflict"]["status"] == "kept"
    assert "0 conflicts (open)" in run(cli, "conflicts")
    plan = run(cli, "plan", "--date", "2022-11-15")
    assert "plan of 2022-11-15 (issued" in plan and "500103" in plan
    coverage = run(cli, "coverage", "--date", "2022-11-15")
    assert "500103" in coverage and "50.00%" in coverage


def test_a_bad_tube_file_exits_with_every_bad_line_or_loads_the_valid_rows(
    cli: CliRunner, tmp_path: Path
) -> None:
    ids = prepare(cli, tmp_path)
    sites = tmp_path / "sites.csv"
    sites.write_text("site_code,name,district_code\nYZ-01,渝中采样点,500103\n", encoding="utf-8")
    run(cli, "sites", str(sites))
    tubes = tmp_path / "tubes.csv"
    tubes.write_text(
        "tube_code,site_code,collected_at,pool_size,person_id\n"
        f"B1,YZ-01,2022-11-15 08:00:00,10,{ids[0]}\n"
        f"B2,NOPE,2022-11-15 08:00:00,10,{ids[1]}\n"
        "B3,YZ-01,2022-11-15 08:00:00,10,999999\n",
        encoding="utf-8",
    )
    refused = cli.invoke(build(), ["screening", "tubes", str(tubes)])
    assert refused.exit_code == 2
    assert "line 3: site_code: unknown sampling site" in refused.output
    assert "line 4: person_id: unknown person" in refused.output
    # Progress must not claim rows were loaded from a file that is then refused whole.
    assert "nothing was written" in refused.output
    assert "loaded" not in refused.output
    rejects = tmp_path / "rejects.csv"
    loaded = json.loads(run(cli, "tubes", str(tubes), "--load-valid", "--rejects", str(rejects)))
    assert (loaded["tubes_added"], loaded["rows_rejected"]) == (1, 2)
    assert rejects.read_text(encoding="utf-8").count("\n") == 3
