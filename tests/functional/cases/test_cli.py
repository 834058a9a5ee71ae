"""`xietong cases` on a fresh database of each backend: chains, spillovers, the day's figures,
clusters and beds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import BACKENDS, PG_URL, _drop_postgresql_database, _fresh_postgresql_database
from tests.factories.cases import at
from xietong.cases import service
from xietong.cases.links import service as link_service
from xietong.cases.schemas import CaseCreate, LinkCreate
from xietong.cli import context
from xietong.cli.main import build
from xietong.core.principal import SYSTEM
from xietong.people import service as people_service
from xietong.people.protection import PersonalDataProtector
from xietong.people.schemas import PersonCreate
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
    runner = CliRunner()
    assert runner.invoke(build(), ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(build(), ["areas", "generate", "--buildings", "2"]).exit_code == 0
    yield runner
    context.engine().dispose()
    context.settings.cache_clear()
    context.engine.cache_clear()


def two_linked_cases() -> tuple[int, int]:
    """A case in 沙坪壩 and the case it infected in 九龍坡 on the next day."""
    protector = PersonalDataProtector.from_settings(context.settings())
    ids = []
    with context.work() as session:
        for serial, (building, day) in enumerate(
            (("500106-S001-C01-B0001", 14), ("500107-S001-C01-B0001", 15)), start=1
        ):
            person = people_service.create_person(
                session,
                principal=SYSTEM,
                protector=protector,
                person_in=PersonCreate(
                    national_id=synthetic_national_id(serial=serial, birth=date(1980, 1, 1)),
                    name="测试",
                    residence_building_code=building,
                ),
            )
            case = service.create_case(
                session,
                principal=SYSTEM,
                case_in=CaseCreate(
                    person_id=person.id,
                    classification="confirmed",
                    detected_at=at(date(2022, 11, day)),
                ),
                now=at(date(2022, 11, day), 13),
            )
            ids.append(case.id)
        link_service.create_link(
            session,
            principal=SYSTEM,
            link_in=LinkCreate(
                source_case_id=ids[0],
                target_case_id=ids[1],
                evidence_kind="workplace",
                evidence="同一办公室",
            ),
            now=datetime.now(UTC),
        )
    return ids[0], ids[1]


def test_the_chain_is_exported_as_json_and_its_spillover_listed(
    cli: CliRunner, tmp_path: Path
) -> None:
    first, second = two_linked_cases()
    out = tmp_path / "chain.json"
    exported = cli.invoke(build(), ["cases", "chain", str(second), "--output", str(out)])
    assert exported.exit_code == 0, exported.output
    chain = json.loads(out.read_text(encoding="utf-8"))
    assert (chain["chain_id"], chain["cases"], chain["spillover_links"]) == (first, 2, 1)
    listed = cli.invoke(
        build(), ["cases", "spillovers", "--first-day", "2022-11-15"], env={"COLUMNS": "200"}
    )
    assert listed.exit_code == 0, listed.output
    assert "500106" in listed.output and "500107" in listed.output


def test_the_days_figures_and_the_jobs_run(cli: CliRunner) -> None:
    two_linked_cases()
    summary = cli.invoke(
        build(), ["cases", "summary", "--day", "2022-11-15"], env={"COLUMNS": "200"}
    )
    assert summary.exit_code == 0, summary.output
    assert "500107" in summary.output
    for command in (
        ["cases", "list", "--day", "2022-11-14"],
        ["cases", "chains", "--crossing"],
        ["cases", "clusters", "--status", "proposed"],
        ["cases", "close-clusters", "--day", "2022-12-31"],
        ["cases", "assign-beds", "--day", "2022-11-15"],
        ["cases", "occupancy", "--day", "2022-11-15"],
        ["cases", "from-candidates"],
    ):
        result = cli.invoke(build(), command, env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
    refused = cli.invoke(build(), ["cases", "clusters", "--status", "sleeping"])
    assert refused.exit_code == 2


def test_an_unknown_case_is_an_error_with_its_code(cli: CliRunner) -> None:
    result = cli.invoke(build(), ["cases", "chain", "999"])
    assert result.exit_code == 2
    assert "case_not_found" in result.output
