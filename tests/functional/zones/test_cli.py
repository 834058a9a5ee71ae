"""`xietong zones` on the test's transaction: list, propose, approve, reject, lift, evaluate and
what-if, each step recorded under the user who ran it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories.auth import district_user
from tests.factories.zones import NOV, area, building, policy_toml
from xietong.cli import context
from xietong.cli.main import build
from xietong.zones import service

WIDE = {"COLUMNS": "250"}


@pytest.fixture
def cli(session: Session, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """Commands run their unit of work as a savepoint of the test's transaction."""

    @contextmanager
    def work() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    monkeypatch.setattr(context, "work", work)
    return CliRunner()


def test_propose_approve_and_lift_as_a_named_district_user(
    cli: CliRunner, session: Session
) -> None:
    coordinator, _ = district_user(session, "500106")
    a, b = building(session, "500106", 0), building(session, "500106", 1)
    proposed = cli.invoke(
        build(),
        [
            "zones",
            "propose",
            a.code,
            b.code,
            "--reason",
            "surface cases",
            "--user",
            coordinator.username,
        ],
    )
    assert proposed.exit_code == 0, proposed.output
    first = service.open_area_of(session, building_id=a.id)
    second = service.open_area_of(session, building_id=b.id)
    assert first is not None and second is not None
    assert first.proposed_by == coordinator.username
    approved = cli.invoke(
        build(), ["zones", "approve", str(first.id), "--user", coordinator.username]
    )
    assert approved.exit_code == 0 and "active" in approved.output
    rejected = cli.invoke(build(), ["zones", "reject", str(second.id), "--reason", "visitor only"])
    assert rejected.exit_code == 0 and "rejected" in rejected.output
    refused = cli.invoke(build(), ["zones", "lift", str(first.id)])
    assert refused.exit_code == 2 and "reason_required" in refused.output
    lifted = cli.invoke(build(), ["zones", "lift", str(first.id), "--reason", "misreported"])
    assert lifted.exit_code == 0 and "lifted on" in lifted.output
    listed = cli.invoke(build(), ["zones", "list", "--district", "500106"], env=WIDE)
    assert "2 risk areas" in listed.output and a.code in listed.output


def test_a_community_is_refused_by_the_command_line(cli: CliRunner, session: Session) -> None:
    community_code = building(session, "500106", 2).code.rsplit("-B", 1)[0]
    result = cli.invoke(
        build(), ["zones", "propose", community_code, "--reason", "cluster"], env=WIDE
    )
    assert result.exit_code == 2
    assert "area_never_widened" in result.output


def test_an_unknown_user_is_refused(cli: CliRunner, session: Session) -> None:
    code = building(session, "500106", 3).code
    result = cli.invoke(build(), ["zones", "designate", code, "--reason", "x", "--user", "nobody"])
    assert result.exit_code == 2 and "user_not_found" in result.output


def test_evaluate_reports_the_policy_and_what_it_proposed(cli: CliRunner, session: Session) -> None:
    area(session, building(session, "500106", 4), status="active", active_from=NOV[14])
    result = cli.invoke(build(), ["zones", "evaluate", "--date", "2022-11-19"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert '"policy_version": "2022-11-11"' in result.output
    assert '"day": "2022-11-19"' in result.output


def test_whatif_prints_both_sides_and_the_person_days(
    cli: CliRunner, session: Session, tmp_path: Path
) -> None:
    area(
        session,
        building(session, "500116", 0),
        status="lifted",
        active_from=NOV[14],
        lifted_on=NOV[20],
    )
    policy = tmp_path / "three.toml"
    policy.write_text(
        policy_toml(
            version="three-days",
            effective_from=date(2022, 12, 1),
            changes={"risk_area.lift_after_clean_days": 3},
        ),
        encoding="utf-8",
    )
    result = cli.invoke(
        build(),
        [
            "zones",
            "whatif",
            str(policy),
            "--from",
            "2022-11-10",
            "--to",
            "2022-11-30",
            "--district",
            "500116",
        ],
        env=WIDE,
    )
    assert result.exit_code == 0, result.output
    assert "2022-11-11" in result.output and "three-days" in result.output
    assert "person-days" in result.output and "happened" in result.output
    as_json = cli.invoke(
        build(),
        [
            "zones",
            "whatif",
            "default",
            "--from",
            "2022-11-10",
            "--to",
            "2022-11-30",
            "--district",
            "500116",
            "--json",
        ],
        env=WIDE,
    )
    assert as_json.exit_code == 0, as_json.output
    assert '"building_days": 6' in as_json.output


def test_whatif_refuses_an_invalid_policy_file_with_its_line(
    cli: CliRunner, tmp_path: Path
) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text(
        policy_toml(
            version="bad",
            effective_from=date(2022, 12, 1),
            changes={"risk_area.lift_after_clean_days": 0},
        ),
        encoding="utf-8",
    )
    result = cli.invoke(
        build(),
        ["zones", "whatif", str(policy), "--from", "2022-11-10", "--to", "2022-11-30"],
        env=WIDE,
    )
    assert result.exit_code == 2
    assert "risk_area.lift_after_clean_days" in result.output


def test_as_of_runs_the_evaluation_on_that_instant_s_day(cli: CliRunner, session: Session) -> None:
    area(session, building(session, "500106", 5), status="active", active_from=NOV[14])
    result = cli.invoke(build(), ["zones", "evaluate", "--as-of", "2022-11-19T09:00"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert '"day": "2022-11-19"' in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["zones", "evaluate"],
        ["referrals", "escalate"],
        ["zones", "designate", "B", "--reason", "r"],
    ],
    ids=" ".join,
)
def test_as_of_is_refused_in_production(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    production = context.settings().model_copy(update={"environment": "production"})
    monkeypatch.setattr(context, "settings", lambda: production)
    result = cli.invoke(build(), [*command, "--as-of", "2022-11-19T09:00"], env=WIDE)
    assert result.exit_code == 2
    assert "refused in production" in result.output


def test_as_of_names_a_bad_instant(cli: CliRunner) -> None:
    result = cli.invoke(build(), ["zones", "evaluate", "--as-of", "19 Nov"], env=WIDE)
    assert result.exit_code == 2 and "is not an instant" in result.output
